"""CLIPScore and R-precision: hand-made features with known answers, a tiny CLIP, and torchmetrics' CLIPScore."""

import math

import pytest
import torch
from PIL import Image

from genart_demo.metrics.base import Extractor
from genart_demo.metrics.clip import ClipImageExtractor, clip_score, load_clip, r_precision, tiny_clip


@pytest.fixture(scope="module")
def scorer():
    return tiny_clip(seed=0)


def _images(n=4, seed=0):
    return torch.randint(0, 256, (n, 3, 40, 48), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


PROMPTS = ["a cat", "a red car", "the sky", "a photo of a dog riding a horse"]


# --- the formulas, on features with known cosines -------------------------------------------------------------


def test_clip_score_conventions_on_known_cosines():
    img = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])  # unnormalised on purpose
    txt = torch.tensor([[5.0, 0.0], [0.0, -1.0], [1.0, 0.0]])  # cosines 1, -1, 1/sqrt(2)
    paper = clip_score(img, txt, clamp="per_sample")
    assert torch.allclose(paper["per_image"], torch.tensor([100.0, 0.0, 100 / math.sqrt(2)], dtype=torch.float64))
    assert paper["mean"] == pytest.approx((100 + 100 / math.sqrt(2)) / 3, abs=1e-9)
    assert paper["clamp"] == "per_sample" and "per image" in paper["convention"]
    tm = clip_score(img, txt, clamp="mean")  # torchmetrics: mean of unclamped scores, then clamp
    assert torch.allclose(tm["per_image"], torch.tensor([100.0, -100.0, 100 / math.sqrt(2)], dtype=torch.float64))
    assert tm["mean"] == pytest.approx(100 / math.sqrt(2) / 3, abs=1e-9)
    assert clip_score(-img, txt, clamp="mean")["mean"] == 0.0  # negative mean clamps to 0
    with pytest.raises(ValueError, match="pairs image i with prompt i"):
        clip_score(img, txt[:2])
    with pytest.raises(ValueError, match="allowed: per_sample, mean"):
        clip_score(img, txt, clamp="none")


def test_r_precision_with_all_other_prompts_as_distractors():
    eye = torch.eye(4)
    result = r_precision(eye, eye)
    assert result["r_precision"] == 1.0 and result["distractors"] == 3 and result["candidates"] == 4
    assert "all 3 other prompts" in result["convention"]
    img = eye.clone()
    img[0] = torch.tensor([0.1, 1.0, 0.0, 0.0])  # image 0 is nearer prompt 1 than its own
    result = r_precision(img, eye)
    assert result["hits"].tolist() == [False, True, True, True] and result["r_precision"] == 0.75


def test_r_precision_samples_99_distractors_reproducibly():
    # 100 prompts; each image's true prompt (cos 0.6) is beaten by exactly one other prompt (its "trap", cos 0.8)
    n = 100
    txt = torch.eye(n)
    img = 0.6 * torch.eye(n) + 0.8 * torch.roll(torch.eye(n), 1, dims=1)
    everything = r_precision(img, txt)  # 99 distractors = every other prompt: the trap is always drawn
    assert everything["r_precision"] == 0.0 and everything["distractors"] == 99
    assert "99 random others (seed 0)" in everything["convention"]
    half = r_precision(img, txt, distractors=49, seed=0)  # the trap is drawn with probability 49/99
    assert 0.5 - 0.15 < half["r_precision"] < 0.5 + 0.15  # binomial(100, 50/99): 3 sigma is 0.15
    assert r_precision(img, txt, distractors=49, seed=0)["hits"].tolist() == half["hits"].tolist()
    assert r_precision(img, txt, distractors=49, seed=1)["hits"].tolist() != half["hits"].tolist()


def test_r_precision_merges_identical_prompts_and_needs_two():
    txt = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # images 0 and 1 share a prompt
    img = torch.tensor([[1.0, 0.1], [1.0, -0.1], [0.1, 1.0]])
    result = r_precision(img, txt)
    assert result["r_precision"] == 1.0 and result["distractors"] == 1  # a twin is never a (tying) distractor
    with pytest.raises(ValueError, match="at least 2 different prompts"):
        r_precision(img[:2], txt[:2])


# --- the tiny CLIP ---------------------------------------------------------------------------------------------


def test_scorer_scores_tensors_and_pil_alike_and_refuses_bad_input(scorer):
    images = _images()
    result = scorer.score(images, PROMPTS)
    assert result["per_image"].shape == (4,) and torch.isfinite(result["per_image"]).all()
    assert result["truncated"] == [] and result["clamp"] == "per_sample" and result["info"]["standin"]
    assert result["image_features"].shape == (4, 16)
    assert torch.allclose(result["image_features"].norm(dim=1), torch.ones(4), atol=1e-6)
    pils = [Image.fromarray(im.permute(1, 2, 0).numpy()) for im in images]
    assert torch.equal(scorer.score(pils, PROMPTS)["per_image"], result["per_image"])
    with pytest.raises(ValueError, match="one prompt per image; got 4 images and 3 prompts"):
        scorer.score(images, PROMPTS[:3])
    with pytest.raises(ValueError, match="uint8"):
        scorer.score(images.float(), PROMPTS)
    assert scorer.info.resize == "PIL bicubic, shortest side 32 + centre crop 32x32, CLIP mean/std"


def test_repeated_prompts_get_identical_features_and_count_once_in_r_precision(scorer):
    prompts = ["a cat", "the sky", "a cat", "a red car"]
    result = scorer.score(_images(), prompts)
    assert torch.equal(result["text_features"][0], result["text_features"][2])
    precision = r_precision(result["image_features"], result["text_features"])
    assert precision["distractors"] == 2 and precision["candidates"] == 3  # 3 distinct prompts
    assert scorer.r_precision(_images(), prompts)["hits"].tolist() == precision["hits"].tolist()


def test_long_prompts_are_cut_keeping_the_end_of_text_token(scorer):
    eos = scorer.tokenizer.eos_token_id
    prompts = ["a " * 98, "a " * 75, "a " * 76, "a red car"]  # 100, 77, 78 and 5 tokens with the two specials
    enc, truncated = scorer.tokenize(prompts)
    assert truncated == [0, 2]
    assert enc["input_ids"].shape == (4, 77)
    assert enc["input_ids"][0, -1].item() == eos and enc["input_ids"][2, -1].item() == eos
    assert enc["input_ids"][0, 1:-1].tolist() == [scorer.tokenizer.convert_tokens_to_ids("a</w>")] * 75
    result = scorer.score(_images(), prompts)
    assert result["truncated"] == [0, 2] and torch.isfinite(result["per_image"]).all()
    # cut to the same 77 tokens, the 100- and 78-token prompts embed identically
    assert torch.allclose(result["text_features"][0], result["text_features"][2], atol=1e-6)


def test_clip_image_extractor_is_an_extractor(scorer):
    extractor = ClipImageExtractor(scorer)
    assert isinstance(extractor, Extractor) and extractor.info.dim == 16
    images = _images(3, seed=1)
    assert torch.equal(extractor(images)["features"], scorer.image_features(images))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        extractor(images[0])


class _TensorFeatures(torch.nn.Module):
    """torchmetrics 1.9 expects get_*_features to return tensors; transformers 5 returns a ModelOutput whose
    pooler_output is that tensor (torchmetrics#3407, unfixed in 1.9.0): unwrap it, change nothing else."""

    def __init__(self, model):
        super().__init__()
        self.inner, self.config = model, model.config

    def get_image_features(self, *args, **kwargs):
        return self.inner.get_image_features(*args, **kwargs).pooler_output

    def get_text_features(self, *args, **kwargs):
        return self.inner.get_text_features(*args, **kwargs).pooler_output


def test_matches_torchmetrics_clipscore_on_a_saved_tiny_clip(tmp_path, monkeypatch):
    from torchmetrics.functional.multimodal.clip_score import _clip_score_update
    from torchmetrics.multimodal import CLIPScore
    from transformers import CLIPProcessor

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    scorer = tiny_clip(seed=0)
    with torch.no_grad():  # flip the image projection: every cosine of this random model becomes positive, so the
        scorer.model.visual_projection.weight.neg_()  # clamps are inactive and the means are not trivially 0
    folder = tmp_path / "openai-tiny-clip"  # torchmetrics only accepts local paths that contain "openai"
    processor = CLIPProcessor(image_processor=scorer.image_processor, tokenizer=scorer.tokenizer)
    scorer.model.save_pretrained(folder)
    processor.save_pretrained(folder)

    metric = CLIPScore(model_name_or_path=str(folder))  # loads the saved model offline
    metric.model = _TensorFeatures(metric.model)
    metric.processor = processor  # it would reload the torchvision-backend processor; use our PIL one so inputs match
    images = _images()
    metric.update(images, PROMPTS)
    theirs_mean = metric.compute().item()
    theirs = _clip_score_update(images, PROMPTS, metric.model, processor)[0]  # per-sample 100·cos, unclamped

    ours = load_clip(str(folder), local_files_only=True)
    assert not ours.info.standin and ours.info.dim == 16
    mean_conv = ours.score(images, PROMPTS, convention="mean")
    paper_conv = ours.score(images, PROMPTS, convention="per_sample")
    assert (theirs > 5).all()
    # float32 features on both sides, our cosine in float64: agreement to 1e-4 on the 0-100 scale
    assert torch.allclose(mean_conv["per_image"].float(), theirs.float(), atol=1e-4, rtol=0)
    assert mean_conv["mean"] == pytest.approx(theirs_mean, abs=1e-4)
    assert paper_conv["mean"] == pytest.approx(theirs_mean, abs=1e-4)  # no negative cosine: conventions agree

    # the unflipped model's cosines are all negative: both conventions give 0 (as torchmetrics' max(mean, 0) would)
    scorer_neg = tiny_clip(seed=0)
    neg = scorer_neg.score(images, PROMPTS, convention="mean")
    assert (neg["per_image"] < 0).all() and neg["mean"] == 0.0
    assert scorer_neg.score(images, PROMPTS)["mean"] == 0.0


def test_concurrent_requests_tokenize_one_at_a_time(scorer, monkeypatch):
    """One scorer serves concurrent requests and a fast tokenizer keeps its padding and truncation as state: both
    calls of a tokenize (count uncut, then pad and cut) are made under the scorer's lock, so another request's
    settings cannot land between them."""
    held = []
    tokenizer_class = type(scorer.tokenizer)
    real = tokenizer_class.__call__

    def recording(self, *args, **kwargs):
        held.append(scorer._tokenizing.locked())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(tokenizer_class, "__call__", recording)
    scorer.tokenize(["a red fox", "a blue kite over the sea"])
    assert held == [True, True] and not scorer._tokenizing.locked()
