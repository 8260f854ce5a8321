"""PickScore: our scorer equals the model card's reference computation on the same tiny weights."""

import numpy as np
import pytest
import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub.file_download import repo_folder_name
from PIL import Image
from transformers import CLIPProcessor

from genart_demo.hubfacts import repo_facts
from genart_demo.metrics import pickscore
from genart_demo.metrics.scorers import ImageScorer, load_scorer
from genart_demo.mirror import snapshot_commit, snapshot_files, write_snapshot
from genart_demo.mirror_tokenizers import vocabulary_file

PROMPTS = ["a photo of a red cat", "a blue car", "a painting of a tree " * 30, "the sea"]


def _images(n=4, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [(40, 56), (64, 33), (32, 32), (80, 48)]
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in sizes[:n]]


@torch.no_grad()
def card_scores(model, tokenizer, image_processor, images, prompts):
    """The model card's calc_probs before its softmax, one prompt at a time (its processor call, its formula)."""
    processor = CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)
    out = []
    for image, prompt in zip(images, prompts):
        image_inputs = processor(images=[image], return_tensors="pt")
        text_inputs = processor(text=prompt, padding=True, truncation=True, max_length=77, return_tensors="pt")
        image_embs = model.get_image_features(**image_inputs)
        image_embs = getattr(image_embs, "pooler_output", image_embs)
        image_embs = image_embs / torch.norm(image_embs, dim=-1, keepdim=True)
        text_embs = model.get_text_features(**text_inputs)
        text_embs = getattr(text_embs, "pooler_output", text_embs)
        text_embs = text_embs / torch.norm(text_embs, dim=-1, keepdim=True)
        out.append((model.logit_scale.exp() * (text_embs @ image_embs.T)[0]).item())
    return np.array(out)


def test_standin_scores_equal_the_model_cards_computation():
    scorer = pickscore.load(standin=True, seed=3)
    images = _images()
    ours = scorer.score(images, PROMPTS, batch_size=3)
    clip = scorer.clip
    ref = card_scores(clip.model, clip.tokenizer, clip.image_processor, images, PROMPTS)
    assert ours.dtype == np.float64 and ours.shape == (4,)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
    # the tiny model's logit_scale is CLIP's init, ln(1/0.07): scores are 1/0.07 times a cosine
    assert clip.model.logit_scale.exp().item() == pytest.approx(1 / 0.07, rel=1e-4)
    assert np.all(np.abs(ours) <= 1 / 0.07 + 1e-6)
    assert len(set(np.round(ours, 6))) == 4  # four different pairs, four different numbers


def test_long_prompt_keeps_its_end_of_text_token_like_the_card():
    scorer = pickscore.load(standin=True)
    enc, cut = scorer.clip.tokenize([PROMPTS[2]])
    assert cut == [0] and enc["input_ids"].shape == (1, 77)
    assert enc["input_ids"][0, -1].item() == scorer.clip.tokenizer.eos_token_id


def test_info_batching_and_the_table_row():
    scorer = load_scorer("pickscore", standin=True, seed=1)
    assert isinstance(scorer, ImageScorer)
    assert scorer.info.metric == "pickscore" and scorer.info.standin
    assert scorer.info.id == "standin-pickscore-seed1"
    assert "centre crop 32x32" in scorer.info.preprocessing
    images = _images()
    np.testing.assert_allclose(scorer.score(images, PROMPTS, batch_size=1), scorer.score(images, PROMPTS), atol=1e-6)
    assert scorer.to("cpu") is scorer


@pytest.mark.parametrize(
    ("images", "prompts", "message"),
    [
        (_images(2), ["one"], "got 2 images and 1 prompts"),
        (_images(1), "a cat", "list of prompt strings"),
        ("x.png", ["a cat"], "takes a list of PIL images"),
    ],
)
def test_bad_pairs_are_refused_with_what_was_given(images, prompts, message):
    with pytest.raises(ValueError, match=message):
        pickscore.load(standin=True).score(images, prompts)


def test_unknown_dtype_is_named():
    with pytest.raises(ValueError, match="dtype 'half' — allowed: float32, float16, bfloat16"):
        pickscore.load(standin=True, dtype="half")


def test_float16_standin_scores_close_to_float32():
    images = _images()
    full = pickscore.load(standin=True).score(images, PROMPTS)
    half = pickscore.load(standin=True, dtype="float16")
    assert half.model.dtype == torch.float16
    np.testing.assert_allclose(half.score(images, PROMPTS), full, atol=0.05)


def _mirror(cache, repo, overrides):
    """The repo's mirrored snapshot (committed facts, tiny weights) with `overrides` for the files the mirror writes
    as placeholders (a root-config repo's vocabulary files)."""
    facts = repo_facts(repo)
    files = {**snapshot_files(facts), **overrides}
    write_snapshot(cache / repo_folder_name(repo_id=repo, repo_type="model"), "main", snapshot_commit(facts), files)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_loads_by_its_real_ids_from_a_mirrored_cache(tmp_path, monkeypatch, dtype):
    vocab = {name: vocabulary_file("clip", name) for name in ("vocab.json", "merges.txt", "tokenizer.json")}
    for repo in (pickscore.DEFAULT_MODEL, pickscore.PROCESSOR_REPO):
        _mirror(tmp_path, repo, vocab)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))  # read at import; the env alone is too late
    scorer = load_scorer("pickscore", local_files_only=True, dtype=dtype)
    assert scorer.info.id == "pickscore-yuvalkirstain-pickscore-v1" + ("" if dtype == "float32" else "-float16")
    assert not scorer.info.standin and scorer.model.dtype == getattr(torch, dtype)
    assert "shortest side 224 + centre crop 224x224" in scorer.info.preprocessing  # the laion processor's sizes
    assert scorer.clip.max_length == 77
    got = scorer.score(_images(), PROMPTS)
    clip = scorer.clip
    want = card_scores(clip.model.float(), clip.tokenizer, clip.image_processor, _images(), PROMPTS)
    np.testing.assert_allclose(got, want, atol=1e-4 if dtype == "float32" else 0.1)
