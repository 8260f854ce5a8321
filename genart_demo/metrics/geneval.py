"""GenEval as a per-image scorer: OWLv2 (transformers) finds the prompt's COCO objects, CLIP names their colours, and
GenEval's rules (geneval_rules.py) give 1.0 when every check of the prompt's metadata row passes, else 0.0.

The authors (djghosh13/geneval@af4902f evaluation/evaluate_images.py) detect with mmdet's Mask2Former and read colours
with open_clip ViT-L-14 "openai"; here the detector is google/owlv2-base-patch16-ensemble through
Owlv2ForObjectDetection and the colour CLIP is the same OpenAI ViT-L/14 through transformers
(openai/clip-vit-large-patch14). OWLv2 is queried with "a photo of a {class}" for each class the row names: the
template transformers' OWLv2 docs use (the OWL-ViT paper averages CLIP's 80 templates instead); `query_template`
changes it. Boxes come back in the padded square frame OWLv2's processor makes (image pasted top-left, side
max(w, h)), so pixel boxes are the normalised ones times max(w, h), clipped to the image.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..hubfacts import repo_facts
from ..mirror_shrink import shrink_config
from .geneval_rules import COLOR_TEMPLATES, COLORS, Detection, GenevalOptions, check_row, kept_detections, row_classes
from .scorers import ScorerInfo, check_pairs
from .tiny_clip import tiny_clip_image_processor, tiny_clip_model, tiny_clip_tokenizer

DEFAULT_MODEL = "google/owlv2-base-patch16-ensemble"
DEFAULT_COLOR_MODEL = "openai/clip-vit-large-patch14"  # the authors' open_clip ViT-L-14 "openai" weights
QUERY_TEMPLATE = "a photo of a {name}"
STANDIN_IMAGE_SIZE = 64  # the stand-in OWLv2 sees 64x64 (4x4 patches of 16) instead of 960x960


BUNDLED_METADATA = ("leaderboard", "data/GenEval_evaluation_metadata.jsonl")  # genart's byte-for-byte copy


def bundled_metadata() -> dict[str, dict]:
    """{prompt: row} of GenEval's 553 prompts, from the copy bundled with genart's leaderboard (a data file)."""
    package, name = BUNDLED_METADATA
    return read_metadata(Path(str(importlib.resources.files(package).joinpath(name))))


def read_metadata(path: str | Path) -> dict[str, dict]:
    """{prompt: row} from GenEval's evaluation_metadata.jsonl (one JSON object per line, each with a "prompt")."""
    rows: dict[str, dict] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or "prompt" not in row or "tag" not in row:
            raise InputError(f"{path}:{number}: a GenEval metadata row needs 'prompt' and 'tag'; got {line[:80]!r}")
        rows[row["prompt"]] = row
    return rows


class GenevalScorer:
    """OWLv2 detector + CLIP colour classifier + GenEval rules; `.evaluate` gives the reasons, `.score` the 0/1s."""

    def __init__(self, detector, image_processor, tokenizer, clip, clip_processor, info, metadata, options, query):
        self.detector, self.image_processor, self.tokenizer = detector, image_processor, tokenizer
        self.clip, self.clip_processor = clip, clip_processor
        self.info, self.metadata, self.options, self.query_template = info, dict(metadata or {}), options, query
        self.device = "cpu"
        self._color_weights: dict[str, object] = {}  # class name -> (D, 10) colour classifier

    def to(self, device) -> GenevalScorer:
        self.detector.to(device)
        self.clip.to(device)
        self.device = device
        self._color_weights.clear()
        return self

    def row(self, prompt: str) -> dict:
        """The metadata row of `prompt`, or an InputError (a ValueError) naming it."""
        if prompt not in self.metadata:
            raise InputError(
                f"GenEval checks only its own {len(self.metadata)} prompts (each names the objects, counts, colours "
                f"and positions to check); {prompt!r} is not one of them. Generate with the geneval prompt set, or "
                "pass metadata={prompt: row}."
            )
        return self.metadata[prompt]

    def detect(self, image, classes: Sequence[str]) -> dict[str, list[Detection]]:
        """{class: detections} for one RGB image: each OWLv2 box under its best query's class, with that score."""
        queries = [self.query_template.format(name=name) for name in classes]
        length = self.detector.config.text_config.max_position_embeddings
        text = self.tokenizer(queries, padding="max_length", truncation=True, max_length=length, return_tensors="pt")
        pixels = self.image_processor(images=[image], return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            out = self.detector(
                input_ids=text["input_ids"].to(self.device),
                attention_mask=text["attention_mask"].to(self.device),
                pixel_values=pixels.to(self.device, self.detector.dtype),
            )
        scores, labels = torch.sigmoid(out.logits[0].float()).max(dim=-1)  # (P,), (P,)
        cx, cy, w, h = out.pred_boxes[0].float().cpu().numpy().T * max(image.size)  # (P,) each, pixels
        x0, x1 = np.clip([cx - w / 2, cx + w / 2], 0, image.size[0])
        y0, y1 = np.clip([cy - h / 2, cy + h / 2], 0, image.size[1])
        found: dict[str, list[Detection]] = {name: [] for name in classes}
        for i, (score, label) in enumerate(zip(scores.tolist(), labels.tolist())):
            found[classes[label]].append(Detection((x0[i], y0[i], x1[i], y1[i]), score))
        return found

    def _color_classifier(self, name: str):
        """(D, 10): per colour, the mean of the templates' normalised CLIP text embeddings, normalised."""
        if name not in self._color_weights:
            texts = [t.format(c=c, name=name) for c in COLORS for t in COLOR_TEMPLATES]
            tokens = self.clip_processor.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
            with torch.no_grad():
                emb = _features(self.clip.get_text_features(**tokens.to(self.device))).float()
            emb = torch.nn.functional.normalize(emb, dim=-1).reshape(len(COLORS), len(COLOR_TEMPLATES), -1).mean(1)
            self._color_weights[name] = torch.nn.functional.normalize(emb, dim=-1).T
        return self._color_weights[name]

    def classify_colors(self, image, name: str, detections: Sequence[Detection]) -> list[str]:
        """The colour (of COLORS) CLIP gives each detection's box crop (at least 1 pixel wide and high)."""
        crops = []
        for d in detections:
            x0, y0 = int(np.floor(d.box[0])), int(np.floor(d.box[1]))
            crops.append(image.crop((x0, y0, max(int(np.ceil(d.box[2])), x0 + 1), max(int(np.ceil(d.box[3])), y0 + 1))))
        pixels = self.clip_processor.image_processor(images=crops, return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            emb = _features(self.clip.get_image_features(pixel_values=pixels.to(self.device, self.clip.dtype))).float()
        logits = torch.nn.functional.normalize(emb, dim=-1) @ self._color_classifier(name)
        return [COLORS[i] for i in logits.argmax(dim=1).tolist()]

    def evaluate(self, images: Sequence, prompts: Sequence[str]) -> list[dict]:
        """Per image: tag, prompt, correct, reason (the failed checks, one per line), and the kept boxes per class."""
        check_pairs(images, prompts, "GenEval")
        rows = [self.row(p) for p in prompts]  # every prompt named before any detection runs
        results = []
        for image, row in zip(images, rows):
            image = image.convert("RGB")
            kept = kept_detections(self.detect(image, row_classes(row)), row["tag"], self.options)
            correct, reasons = check_row(row, kept, lambda n, d, im=image: self.classify_colors(im, n, d), self.options)
            boxes = {n: [[float(v) for v in d.box] + [d.score] for d in dets] for n, dets in kept.items()}
            results.append(
                {
                    "tag": row["tag"],
                    "prompt": row["prompt"],
                    "correct": correct,
                    "reason": "\n".join(reasons),
                    "details": boxes,
                }
            )
        return results

    def score(self, images: Sequence, prompts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """(N,) float64: 1.0 where every check of the prompt's row passes, else 0.0 (one image at a time)."""
        return np.array([float(r["correct"]) for r in self.evaluate(images, prompts)], dtype=np.float64)


def _features(out):
    """get_*_features returns a tensor in transformers 4, an output with pooler_output in 5."""
    return getattr(out, "pooler_output", out)


def standin_parts(seed: int = 0):
    """(detector, image processor, tokenizer): a tiny random Owlv2ForObjectDetection from the committed real config,
    shrunk (widths, depths, and 64x64 input), with the tiny CLIP tokenizer."""
    from transformers import Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor  # lazy: heavy import

    tokenizer = tiny_clip_tokenizer()
    ids = {"vocab_size": len(tokenizer)} | {
        f"{r}_token_id": getattr(tokenizer, f"{r}_token_id") for r in ("bos", "eos", "pad")
    }
    config = shrink_config("Owlv2ForObjectDetection", repo_facts(DEFAULT_MODEL, "main").json("config.json"), ids)
    config["vision_config"]["image_size"] = STANDIN_IMAGE_SIZE
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        detector = Owlv2ForObjectDetection(Owlv2Config(**config)).eval()
    processor = Owlv2ImageProcessor(size={"height": STANDIN_IMAGE_SIZE, "width": STANDIN_IMAGE_SIZE})
    return detector, processor, tokenizer


def load(
    model_id: str | None = None,
    *,
    standin: bool = False,
    local_files_only: bool = False,
    seed: int = 0,
    metadata: Mapping[str, dict] | None = None,
    color_model_id: str | None = None,
    query_template: str = QUERY_TEMPLATE,
    options: GenevalOptions | None = None,
    dtype=None,
) -> GenevalScorer:
    """The GenEval scorer over OWLv2 `model_id` (default DEFAULT_MODEL) and CLIP `color_model_id` (default
    DEFAULT_COLOR_MODEL), or tiny random stand-ins of both; `metadata` is {prompt: GenEval metadata row}, by default
    GenEval's own 553 prompts (bundled_metadata)."""
    # lazy: transformers takes seconds to import; only loading the networks needs it
    import transformers

    opts = options or GenevalOptions()
    if standin:
        detector, image_processor, tokenizer = standin_parts(seed)
        clip_tokenizer = tiny_clip_tokenizer()
        clip = tiny_clip_model(clip_tokenizer, seed)
        clip_processor = transformers.CLIPProcessor(
            image_processor=tiny_clip_image_processor(), tokenizer=clip_tokenizer
        )
        ident, name = f"standin-geneval-seed{seed}", "GenEval (tiny random OWLv2 + CLIP stand-ins)"
    else:
        model_id, color_model_id = model_id or DEFAULT_MODEL, color_model_id or DEFAULT_COLOR_MODEL
        kw = {"local_files_only": local_files_only}
        detector = transformers.Owlv2ForObjectDetection.from_pretrained(model_id, dtype=dtype, **kw).eval()
        image_processor = transformers.Owlv2ImageProcessor.from_pretrained(model_id, **kw)
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_id, **kw)
        clip = transformers.CLIPModel.from_pretrained(color_model_id, dtype=dtype, **kw).eval()
        clip_processor = transformers.CLIPProcessor.from_pretrained(color_model_id, **kw)
        ident = "geneval-" + f"{model_id}-{color_model_id}".lower().replace("/", "-")
        name = f"GenEval ({model_id} + {color_model_id})"
    info = ScorerInfo(
        id=ident,
        name=name,
        metric="geneval",
        preprocessing=(
            f"OWLv2 processor (pad to square, resize) with queries {query_template!r}; thresholds {opts}; colour: "
            "CLIP processor on each box crop, zero-shot over 10 colours x 3 templates"
        ),
        scale="1 = every GenEval check of the prompt passes, 0 = one fails; the mean per tag is GenEval's accuracy",
        standin=standin,
    )
    if metadata is None:
        metadata = bundled_metadata()
    return GenevalScorer(
        detector, image_processor, tokenizer, clip, clip_processor, info, metadata, opts, query_template
    )


__all__ = [
    "DEFAULT_COLOR_MODEL",
    "DEFAULT_MODEL",
    "GenevalScorer",
    "bundled_metadata",
    "load",
    "read_metadata",
    "standin_parts",
]
