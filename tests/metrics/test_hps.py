"""HPS v2.1: our scorer equals the authors' hpsv2 package (its model code, transform, tokenizer, formula) on the same
tiny weights, and refuses checkpoints holding pickled code."""

import gzip
import io
import json
import sys
import types

import numpy as np
import open_clip
import pytest
import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub.file_download import repo_folder_name
from PIL import Image

from genart_demo.hubfacts import repo_facts
from genart_demo.metrics import hps
from genart_demo.metrics.scorers import ImageScorer, load_scorer
from genart_demo.mirror import snapshot_commit, snapshot_files, write_snapshot

PROMPTS = ["a photo of a red cat", "a blue car", "a painting of a tree " * 30, "the sea"]


def _images(seed=0):
    rng = np.random.default_rng(seed)
    return [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for w, h in [(40, 56), (64, 33), (32, 32), (80, 48)]
    ]


@pytest.fixture(scope="module")
def hpsv2_open_clip(tmp_path_factory):
    """hpsv2 1.2.0's vendored open_clip with our tiny config registered under TINY_ARCHITECTURE.

    Stubbed, unused for scoring: `clint` (hpsv2/utils.py's download progress bar). The 1.2.0 wheel leaves out the BPE
    vocabulary its tokenizer opens at import; it is OpenAI CLIP's bpe_simple_vocab_16e6.txt.gz, which open_clip
    ships, so that one path is redirected to open_clip's copy while hpsv2 imports.
    """
    stubs = {"clint": types.ModuleType("clint"), "clint.textui": types.ModuleType("clint.textui")}
    stubs["clint.textui"].progress = None
    real_open = gzip.open

    def bpe_open(path, *args, **kwargs):
        if str(path).endswith("hpsv2/src/open_clip/bpe_simple_vocab_16e6.txt.gz"):
            path = open_clip.tokenizer.default_bpe()
        return real_open(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        for name, module in stubs.items():
            mp.setitem(sys.modules, name, module)
        mp.setattr(gzip, "open", bpe_open)
        import hpsv2.src.open_clip as theirs

        config = tmp_path_factory.mktemp("hps") / f"{hps.TINY_ARCHITECTURE}.json"
        config.write_text(json.dumps(hps.TINY_CONFIG))
        theirs.add_model_config(config)
        yield theirs


@torch.no_grad()
def hpsv2_scores(theirs, state_dict, images, prompts):
    """hpsv2/img_score.py's score(), one image at a time: its model, preprocess_val, tokenizer and formula (fp32, CPU)."""
    model, _, preprocess_val = theirs.create_model_and_transforms(
        hps.TINY_ARCHITECTURE, None, precision="fp32", device="cpu", light_augmentation=True, output_dict=True
    )
    model.load_state_dict(state_dict)
    model.eval()
    tokenizer = theirs.get_tokenizer("ViT-H-14")
    out = []
    for image, prompt in zip(images, prompts):
        outputs = model(preprocess_val(image).unsqueeze(0), tokenizer([prompt]))
        logits_per_image = outputs["image_features"] @ outputs["text_features"].T
        out.append(torch.diagonal(logits_per_image).numpy()[0])
    return np.array(out, dtype=np.float64)


def test_scores_equal_the_hpsv2_package_on_the_same_weights(hpsv2_open_clip, tmp_path):
    standin = hps.load(standin=True, seed=5)
    path = tmp_path / "tiny_hps.pt"
    torch.save({"state_dict": standin.model.state_dict()}, path)  # the checkpoint layout hpsv2 reads
    ours = hps.load(weights_path=path, architecture=hps.TINY_ARCHITECTURE)
    images = _images()
    got = ours.score(images, PROMPTS, batch_size=3)
    want = hpsv2_scores(hpsv2_open_clip, torch.load(path, weights_only=True)["state_dict"], images, PROMPTS)
    assert got.dtype == np.float64 and got.shape == (4,)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)  # float32 features, our cosine in float64
    np.testing.assert_allclose(got, standin.score(images, PROMPTS), atol=1e-6)
    assert len(set(np.round(got, 5))) == 4 and np.all(np.abs(got) <= 1 + 1e-9)


def test_our_tokens_and_pixels_are_hpsv2s(hpsv2_open_clip):
    scorer = hps.load(standin=True)
    theirs_tokens = hpsv2_open_clip.get_tokenizer("ViT-H-14")(PROMPTS)
    assert torch.equal(scorer.tokenizer(PROMPTS), theirs_tokens)
    assert theirs_tokens[2, -1].item() == 49407  # a cut prompt keeps <|endoftext|>
    theirs_pixels = hpsv2_open_clip.image_transform(32, is_train=False, resize_longest_max=True)
    for image in _images():
        assert torch.equal(scorer.transform(image), theirs_pixels(image))


def test_a_checkpoint_holding_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "hook": np.random.default_rng(0)}, path)  # a pickled object, not tensors
    with pytest.raises(ValueError, match="refusing to load .*evil.pt: it is not a plain weights file"):
        hps.load(weights_path=path, architecture=hps.TINY_ARCHITECTURE)


def test_info_row_and_bad_input():
    scorer = load_scorer("hpsv21", standin=True, seed=2)
    assert isinstance(scorer, ImageScorer)
    assert (scorer.info.metric, scorer.info.id, scorer.info.standin) == ("hpsv21", "standin-hpsv21-seed2", True)
    assert "longest side 32 + zero padding to 32x32" in scorer.info.preprocessing
    with pytest.raises(ValueError, match="got 4 images and 1 prompts"):
        scorer.score(_images(), ["one"])
    with pytest.raises(ValueError, match="unknown open_clip architecture 'ViT-Z'"):
        hps.build_model("ViT-Z")
    with pytest.raises(ValueError, match="dtype 'half' — allowed: float32, float16, bfloat16"):
        hps.load(standin=True, dtype="half")


def test_float16_scores_close_to_float32():
    images = _images()
    full = hps.load(standin=True).score(images, PROMPTS)
    half = hps.load(standin=True, dtype="float16")
    assert next(half.model.parameters()).dtype == torch.float16
    np.testing.assert_allclose(half.score(images, PROMPTS), full, atol=5e-3)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_loads_the_real_file_name_from_a_mirrored_cache(tmp_path, monkeypatch, dtype):
    """hf_hub_download of WEIGHTS_FILE from xswu/HPSv2's mirrored snapshot, the mirror's placeholder replaced by a
    tiny checkpoint in hpsv2's layout ({"state_dict": ...}); offline, by the real repo id."""
    standin = hps.load(standin=True, seed=7)
    buffer = io.BytesIO()
    torch.save({"state_dict": standin.model.state_dict()}, buffer)
    facts = repo_facts(hps.DEFAULT_MODEL)
    assert hps.WEIGHTS_FILE in facts.files
    files = {**snapshot_files(facts), hps.WEIGHTS_FILE: buffer.getvalue()}
    repo_dir = tmp_path / repo_folder_name(repo_id=hps.DEFAULT_MODEL, repo_type="model")
    write_snapshot(repo_dir, "main", snapshot_commit(facts), files)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))  # read at import; the env alone is too late
    scorer = load_scorer("hpsv21", local_files_only=True, architecture=hps.TINY_ARCHITECTURE, dtype=dtype)
    suffix = "" if dtype == "float32" else "-float16"
    assert scorer.info.id == f"hpsv21-xswu-hpsv2-genart-tiny-hps{suffix}" and not scorer.info.standin
    assert scorer.info.name == "HPS v2.1 (xswu/HPSv2/HPS_v2.1_compressed.pt)"
    assert next(scorer.model.parameters()).dtype == getattr(torch, dtype)
    images = _images()
    np.testing.assert_allclose(
        scorer.score(images, PROMPTS), standin.score(images, PROMPTS), atol=1e-6 if dtype == "float32" else 5e-3
    )


def test_the_real_vit_h_14_state_dict_fits_ours_key_for_key(hpsv2_open_clip):
    """hpsv2's ViT-H-14 (whose state dict HPS_v2.1_compressed.pt holds) and open_clip's have the same tensor names and
    shapes, so load_state_dict(strict=True) takes the real file; both built on the meta device (no memory)."""
    with torch.device("meta"):
        ours = hps.build_model(hps.ARCHITECTURE).state_dict()
        theirs = hpsv2_open_clip.model.CLIP(**hpsv2_open_clip.get_model_config("ViT-H-14")).state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    assert tuple(ours["visual.proj"].shape) == (1280, 1024) and tuple(ours["token_embedding.weight"].shape) == (
        49408,
        1024,
    )
    assert len(ours) == len(theirs) == 14 + 12 * (32 + 24)  # 12 tensors per block: 32 vision, 24 text
