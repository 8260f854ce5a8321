"""LAION aesthetic predictor: the authors' MLP on the same CLIP features and weights, and closed-form heads."""

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from huggingface_hub import constants as hf_constants
from huggingface_hub.file_download import repo_folder_name
from PIL import Image

from genart_demo.hubfacts import repo_facts
from genart_demo.metrics import aesthetic
from genart_demo.metrics.scorers import ImageScorer, load_scorer
from genart_demo.metrics.weights import read_state_dict
from genart_demo.mirror import snapshot_commit, snapshot_files, write_snapshot

PROMPTS = ["a red cat", "a blue car", "", "the sea"]


def _images(seed=0):
    rng = np.random.default_rng(seed)
    sizes = [(40, 56), (64, 33), (32, 32), (300, 200)]
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in sizes]


@pytest.fixture
def authors_mlp(monkeypatch):
    """image-reward 1.5's models/AestheticScore.py MLP class (their reimplementation of the predictor's head).

    `clip` (OpenAI's package, used only by AestheticScore's loader) and the package __init__s (which import ReFL's
    training stack) are stubbed; the module itself is imported as shipped.
    """
    root = Path(importlib.util.find_spec("ImageReward").origin).parent
    for name, path in (("ImageReward", root), ("ImageReward.models", root / "models")):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setitem(sys.modules, "clip", types.ModuleType("clip"))
    monkeypatch.delitem(sys.modules, "ImageReward.models.AestheticScore", raising=False)
    return importlib.import_module("ImageReward.models.AestheticScore").MLP


def _their_scores(mlp_class, state, embeddings):
    """AestheticScore.score's formula: mlp(F.normalize(clip.encode_image(image)).float())."""
    mlp = mlp_class(embeddings.shape[1]).eval()
    mlp.load_state_dict(state)  # strict: our file layout is theirs
    with torch.no_grad():
        return mlp(F.normalize(embeddings).float()).squeeze(1).double().numpy()


def test_scores_equal_the_authors_mlp_on_the_same_features_and_weights(authors_mlp, tmp_path):
    scorer = aesthetic.load(standin=True, seed=2)
    with torch.no_grad():
        for p in scorer.head.parameters():  # nn.Linear's default init gives a near-constant head
            p.normal_(0.0, 0.2)
    path = tmp_path / aesthetic.WEIGHTS_FILE
    torch.save({f"layers.{k}": v for k, v in scorer.head.state_dict().items()}, path)  # the .pth layout
    got = scorer.score(_images(), PROMPTS)  # one batch: the very features given to theirs
    want = _their_scores(authors_mlp, read_state_dict(path), scorer.embeddings(_images()))
    assert got.dtype == np.float64 and got.shape == (4,) and np.ptp(want) > 0.05
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_one_hot_head_returns_a_coordinate_of_the_unit_embedding_plus_its_bias():
    scorer = aesthetic.load(standin=True)
    linears = [m for m in scorer.head if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for layer in linears:
            layer.weight.zero_()
            layer.bias.zero_()
            layer.weight[0, 0] = 1.0
        linears[0].weight[0, 0], linears[0].weight[0, 5] = 0.0, 1.0  # picks coordinate 5
        linears[-1].bias.fill_(5.5)
    embeddings = scorer.embeddings(_images()).double()
    want = (embeddings[:, 5] / embeddings.norm(dim=1) + 5.5).numpy()
    np.testing.assert_allclose(scorer.score(_images(), PROMPTS), want, atol=1e-6)
    with torch.no_grad():
        linears[0].weight.zero_()
    np.testing.assert_allclose(scorer.score(_images(), PROMPTS), [5.5] * 4, atol=1e-7)


def test_prompts_are_ignored_and_the_standin_is_described():
    scorer = aesthetic.load(standin=True, seed=1)
    assert isinstance(scorer, ImageScorer)
    assert (scorer.info.id, scorer.info.metric, scorer.info.standin) == ("standin-aesthetic-seed1", "aesthetic", True)
    assert "prompt unused" in scorer.info.preprocessing and "L2-normalised" in scorer.info.preprocessing
    one = scorer.score(_images(), PROMPTS)
    np.testing.assert_array_equal(scorer.score(_images(), ["x", "y", "z", "w"]), one)
    assert not np.allclose(aesthetic.load(standin=True, seed=2).score(_images(), PROMPTS), one)


def test_float16_standin_scores_close_to_float32():
    full = aesthetic.load(standin=True).score(_images(), PROMPTS)
    half = aesthetic.load(standin=True, dtype="float16")
    assert half.clip.dtype == torch.float16 and half.head[0].weight.dtype == torch.float32
    np.testing.assert_allclose(half.score(_images(), PROMPTS), full, atol=0.01)


class NotATensor:
    """Pickled code: what a hostile .pth could carry."""


def test_a_weights_file_with_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"layers.0.weight": NotATensor()}, path)
    with pytest.raises(ValueError, match="refusing to load .*evil.pth: it is not a plain weights file"):
        read_state_dict(path)
    with pytest.raises(ValueError, match="LAION aesthetic dtype 'half' — allowed: float32, float16, bfloat16"):
        aesthetic.load(standin=True, dtype="half")
    with pytest.raises(ValueError, match="got 4 images and 1 prompts"):
        aesthetic.load(standin=True).score(_images(), ["a cat"])


def _mirror(cache, repo, overrides):
    facts = repo_facts(repo)
    files = {**snapshot_files(facts), **overrides}
    write_snapshot(cache / repo_folder_name(repo_id=repo, repo_type="model"), "main", snapshot_commit(facts), files)
    return files


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_loads_by_its_real_ids_from_a_mirrored_cache(authors_mlp, tmp_path, monkeypatch, dtype):
    clip_files = _mirror(tmp_path, aesthetic.DEFAULT_CLIP, {})
    width = json.loads(clip_files["config.json"])["projection_dim"]  # the mirror's shrunk CLIP
    torch.manual_seed(7)
    theirs = authors_mlp(width)
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_(0.0, 0.2)
    pth = tmp_path / "head.pth"
    torch.save(theirs.state_dict(), pth)
    _mirror(tmp_path, aesthetic.DEFAULT_MODEL, {aesthetic.WEIGHTS_FILE: pth.read_bytes()})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))  # read at import; the env alone is too late
    scorer = load_scorer("aesthetic", local_files_only=True, dtype=dtype)
    suffix = "" if dtype == "float32" else "-float16"
    assert scorer.info.id == "aesthetic-camenduru-improved-aesthetic-predictor-openai-clip-vit-large-patch14" + suffix
    assert not scorer.info.standin and scorer.clip.dtype == getattr(torch, dtype)
    assert "shortest side 224 + centre crop 224x224" in scorer.info.preprocessing  # the real preprocessor config
    got = scorer.score(_images(), PROMPTS)
    want = _their_scores(authors_mlp, theirs.state_dict(), scorer.embeddings(_images()))
    np.testing.assert_allclose(got, want, atol=1e-5 if dtype == "float32" else 0.01)
