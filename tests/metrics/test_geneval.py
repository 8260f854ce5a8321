"""GenEval: the authors' rules on synthetic detections (closed forms), the stand-in end to end, the real id offline."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from huggingface_hub.file_download import repo_folder_name
from PIL import Image
from transformers import CLIPTokenizer

from genart_demo.errors import InputError
from genart_demo.hubfacts import repo_facts
from genart_demo.metrics import geneval
from genart_demo.metrics.geneval_rules import (
    Detection,
    GenevalOptions,
    box_iou,
    check_row,
    kept_detections,
    relative_position,
)
from genart_demo.metrics.scorers import load_scorer
from genart_demo.mirror import write_snapshot
from genart_demo.mirror_shrink import shrink_config
from genart_demo.mirror_tokenizers import token_ids, vocabulary_file
from genart_demo.mirror_weights import pickled, placeholder, safetensors_file

METADATA = Path(__file__).resolve().parents[2] / "leaderboard" / "data" / "GenEval_evaluation_metadata.jsonl"


def box(x0, y0, x1, y1, score=0.99):
    return Detection((x0, y0, x1, y1), score)


def no_colors(name, dets):
    raise AssertionError("no colour check expected")


def test_iou_uses_inclusive_pixel_areas():
    assert box_iou((0, 0, 9, 9), (5, 0, 14, 9)) == pytest.approx(50 / 150)  # 10x10 boxes sharing a 5x10 strip
    assert box_iou((0, 0, 9, 9), (20, 20, 29, 29)) == 0


def test_kept_detections_threshold_counting_threshold_max_objects_and_nms():
    found = {
        "apple": [box(0, 0, 9, 9, 0.85), box(0, 0, 9, 9, 0.95), box(50, 0, 59, 9, 0.91)],
        "cat": [box(0, 0, 1, 1, 0.2)],
    }
    assert [d.score for d in kept_detections(found, "counting")["apple"]] == [0.95, 0.91]  # > 0.9, best first
    kept = kept_detections(found, "single_object")
    assert [d.score for d in kept["apple"]] == [0.95, 0.91, 0.85] and "cat" not in kept  # > 0.3
    assert len(kept_detections(found, "single_object", GenevalOptions(max_objects=1))["apple"]) == 1
    nms = kept_detections(found, "single_object", GenevalOptions(max_overlap=0.5))["apple"]
    assert [d.score for d in nms] == [0.95, 0.91]  # the 0.85 duplicate of the best box (IoU 1) is dropped


@pytest.mark.parametrize(
    "a, b, margin, expected",
    [
        ((0, 0, 10, 10), (100, 0, 110, 10), 0.1, {"left of"}),
        ((100, 0, 110, 10), (0, 0, 10, 10), 0.1, {"right of"}),
        ((0, 0, 10, 10), (0, 100, 10, 110), 0.1, {"above"}),
        ((0, 100, 10, 110), (0, 0, 10, 10), 0.1, {"below"}),
        # centres 12 apart, sizes 10 + 10: offset 12 - 0.1 x 20 = 10 -> 10/12 > 0.5
        ((0, 0, 10, 10), (12, 0, 22, 10), 0.1, {"left of"}),
        # the same boxes with margin 0.6: 12 - 0.6 x 20 < 0 -> no relation at all
        ((0, 0, 10, 10), (12, 0, 22, 10), 0.6, set()),
        # diagonal (10, 10) between 2-pixel boxes: each axis (10 - 0.4)/14.1 = 0.68 > 0.5
        ((10, 10, 12, 12), (0, 0, 2, 2), 0.1, {"right of", "below"}),
        # mostly right, a little down: dy = (3 - 0.4)/10.4 < 0.5 -> right only
        ((10, 3, 12, 5), (0, 0, 2, 2), 0.1, {"right of"}),
    ],
)
def test_relative_position_with_margin(a, b, margin, expected):
    assert relative_position(a, b, margin) == expected


DOG, CAT = box(0, 0, 10, 10), box(100, 0, 110, 10)
CASES = {  # tag: (row, kept detections that pass, kept that fail, the failure's reason, colours by class)
    "single_object": (
        {"include": [{"class": "bench", "count": 1}]},
        {"bench": [DOG]},
        {},
        "expected bench>=1, found 0",
    ),
    "two_object": (
        {"include": [{"class": "dog", "count": 1}, {"class": "cat", "count": 1}]},
        {"dog": [DOG], "cat": [CAT]},
        {"dog": [DOG]},
        "expected cat>=1, found 0",
    ),
    "counting": (
        {"include": [{"class": "apple", "count": 3}], "exclude": [{"class": "apple", "count": 4}]},
        {"apple": [DOG] * 3},
        {"apple": [DOG] * 4},
        "expected apple<4, found 4",
    ),
    "colors": (
        {"include": [{"class": "car", "count": 1, "color": "red"}]},
        {"car": [DOG]},
        {"car": [CAT]},
        "expected red car>=1, found 0 red; and 1 blue",
    ),
    "position": (
        {"include": [{"class": "dog", "count": 1}, {"class": "cat", "count": 1, "position": ["right of", 0]}]},
        {"dog": [DOG], "cat": [CAT]},
        {"dog": [CAT], "cat": [DOG]},
        "expected cat right of target, found left of target",
    ),
    "color_attr": (
        {"include": [{"class": "car", "count": 1, "color": "red"}, {"class": "dog", "count": 1, "color": "blue"}]},
        {"car": [DOG], "dog": [CAT]},
        {"car": [DOG], "dog": [DOG]},
        "expected blue dog>=1, found 0 blue; and 1 red",
    ),
}


def box_colors(name, dets):
    """The fake colour classifier: the DOG box is red, anything else blue."""
    return ["red" if d == DOG else "blue" for d in dets]


@pytest.mark.parametrize("tag", list(CASES))
def test_each_tag_has_a_pass_and_a_fail_with_the_authors_reason(tag):
    row, good, bad, reason = CASES[tag]
    row = {"tag": tag, **row}
    assert check_row(row, good, box_colors) == (True, [])
    assert check_row(row, bad, box_colors) == (False, [reason])


def test_counting_needs_exactly_n():
    row = {"tag": "counting", **CASES["counting"][0]}
    results = [check_row(row, {"apple": [DOG] * n}, no_colors)[0] for n in range(6)]
    assert results == [False, False, False, True, False, False]
    assert check_row(row, {"apple": [DOG] * 2}, no_colors)[1] == ["expected apple>=3, found 2"]


def test_position_without_its_target_names_both_failures_and_colour_only_on_the_best_count():
    row = {"tag": "position", **CASES["position"][0]}
    assert check_row(row, {"cat": [CAT]}, no_colors)[1] == [
        "expected dog>=1, found 0",
        "no target for cat to be right of",
    ]
    row = {"tag": "colors", "include": [{"class": "car", "count": 1, "color": "red"}]}
    assert check_row(row, {"car": [DOG, CAT]}, box_colors)[0]  # only the best car is classified


def test_read_metadata_reads_the_bundled_553_rows_and_names_a_bad_line(tmp_path):
    rows = geneval.read_metadata(METADATA)
    assert len(rows) == 553
    tags = {t: sum(r["tag"] == t for r in rows.values()) for t in CASES}
    assert tags == {
        "single_object": 80,
        "two_object": 99,
        "counting": 80,
        "colors": 94,
        "position": 100,
        "color_attr": 100,
    }
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"tag": "counting", "prompt": "x"}\n{"include": []}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: .*needs 'prompt' and 'tag'"):
        geneval.read_metadata(bad)


@pytest.fixture(scope="module")
def metadata():
    return geneval.read_metadata(METADATA)


@pytest.fixture(scope="module")
def standin(metadata):
    return load_scorer("geneval", standin=True, metadata=metadata)


IMAGES = [Image.new("RGB", (80, 60), (200, 30, 30)), Image.new("RGB", (48, 64), (30, 30, 200))]


def test_standin_end_to_end_scores_zero_or_one_per_image(standin):
    prompts = ["a photo of a bench", "a photo of a red car"]
    assert standin.info.standin and standin.info.metric == "geneval"
    standin.options = GenevalOptions(threshold=0.0)  # every box of a one-class query is that class, above 0
    results = standin.evaluate(IMAGES, prompts)
    assert results[0]["correct"] and results[0]["reason"] == "" and len(results[0]["details"]["bench"]) == 16
    assert all(0 <= x0 <= x1 <= 80 and 0 <= y0 <= y1 <= 60 for x0, y0, x1, y1, _ in results[0]["details"]["bench"])
    scores = standin.score(IMAGES, prompts)
    assert scores.dtype == np.float64 and scores.shape == (2,) and scores[0] == 1.0 and scores[1] in (0.0, 1.0)
    standin.options = GenevalOptions(threshold=1.0)  # nothing scores above 1
    assert standin.score(IMAGES, prompts).tolist() == [0.0, 0.0]
    assert standin.evaluate(IMAGES[:1], prompts[:1])[0]["reason"] == "expected bench>=1, found 0"
    standin.options = GenevalOptions()


def test_a_prompt_without_metadata_is_named(standin):
    with pytest.raises(InputError, match="'a photo of a unicorn' is not one of them"):
        standin.score(IMAGES[:1], ["a photo of a unicorn"])


def test_without_metadata_the_bundled_553_prompts_are_known():
    scorer = geneval.load(standin=True)  # no metadata given: GenEval's own prompts, from the copy genart bundles
    assert len(scorer.metadata) == 553
    assert scorer.metadata["a photo of a dog right of a teddy bear"]["tag"] == "position"
    assert scorer.score(IMAGES[:1], ["a photo of a bench"]).shape == (1,)
    with pytest.raises(InputError, match="checks only its own 553 prompts"):
        scorer.score(IMAGES[:1], ["a photo of a unicorn"])


def snapshot_files(facts, tmp_path):
    """A root-config transformers repo as the mirror writes it (committed JSON verbatim, config shrunk in widths and
    depths only, tiny seeded weights, placeholders for Flax/TF files), plus tiny CLIP vocabulary files: build_mirror
    writes tokenizer files only for model_index.json repos, and the text tower must match that tokenizer."""
    files = {p: (facts.folder / p).read_bytes() for p in facts.json_files()}
    for name in ("vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if name not in files:  # the committed configs stay; the vocabularies are the tiny ones
            files[name] = vocabulary_file("clip", name)
        (tmp_path / name).write_bytes(files[name])
    tokens = token_ids(CLIPTokenizer.from_pretrained(tmp_path))
    real = facts.json("config.json")
    config = shrink_config(real["architectures"][0], real, tokens)
    files["config.json"] = json.dumps(config, indent=2).encode()
    cls = getattr(transformers, real["architectures"][0])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        state = cls(cls.config_class(**config)).state_dict()
    files["model.safetensors"] = safetensors_file(state)
    files["pytorch_model.bin"] = pickled(state)
    files.update({name: placeholder(name) for name in facts.files if name not in files})
    return files


def mirror_repo(hub: Path, repo: str, tmp_path: Path) -> None:
    facts = repo_facts(repo, "main")
    (tmp_path / repo).mkdir(parents=True)
    repo_dir = hub / repo_folder_name(repo_id=repo, repo_type="model")
    write_snapshot(repo_dir, "main", "1" * 40, snapshot_files(facts, tmp_path / repo))


def test_real_ids_load_offline_from_the_mirrored_cache(tmp_path, monkeypatch, metadata):
    facts = repo_facts(geneval.DEFAULT_MODEL, "main")
    assert json.loads((facts.folder / "preprocessor_config.json").read_text())["size"] == {"height": 960, "width": 960}
    for repo in (geneval.DEFAULT_MODEL, geneval.DEFAULT_COLOR_MODEL):
        mirror_repo(tmp_path / "hub", repo, tmp_path / "tok")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))  # read at import
    scorer = load_scorer("geneval", local_files_only=True, metadata=metadata, options=GenevalOptions(threshold=0.0))
    assert scorer.detector.config.vision_config.image_size == 960 and scorer.tokenizer.model_max_length == 16
    assert scorer.image_processor.size == {"height": 960, "width": 960} and not scorer.info.standin
    assert scorer.clip.config.vision_config.patch_size == 14
    assert scorer.clip_processor.image_processor.crop_size == {"height": 224, "width": 224}
    assert scorer.info.id == "geneval-google-owlv2-base-patch16-ensemble-openai-clip-vit-large-patch14"
    result = scorer.evaluate(IMAGES[:1], ["a photo of a bench"])[0]
    assert result["correct"] and len(result["details"]["bench"]) == 16  # 60 x 60 patches, best 16 kept
    scores = scorer.score(IMAGES, ["a photo of a bench", "a photo of a red car"])
    assert scores[0] == 1.0 and scores[1] in (0.0, 1.0)
