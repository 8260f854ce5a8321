"""Paired metrics, autoencoder round trips and CLIPScore through the evaluate task, against direct computation."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.media import save_png
from genart_demo.metrics import psnr, ssim
from genart_demo.run_settings import GenerateSettings
from genart_demo.tasks.evaluate_images import (
    AutoencodeRequest,
    ClipRequest,
    PairRequest,
    clip_model,
    evaluate_autoencoders,
    evaluate_clip,
    evaluate_pair,
)


def picture(seed, size=(64, 48)):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    arr = np.stack([x * 3.0, y * 4.0, (x + y) * 2.0], -1) + rng.normal(0, 8, (size[1], size[0], 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def test_pair_metrics_match_closed_forms(studio, tmp_path):
    ref = np.full((48, 64, 3), 100, np.uint8)
    noisy = ref.copy()
    noisy[::2] += 10  # half the rows off by 10 grey levels: MSE = 50 / 255^2
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(noisy).save(tmp_path / "img.png")
    result = evaluate_pair(studio, PairRequest(tmp_path / "img.png", tmp_path / "ref.png"))
    values = {r["metric"]: r["value"] for r in result.rows}
    assert values["MSE"] == pytest.approx(50 / 255**2, rel=1e-6)
    assert values["PSNR (dB)"] == pytest.approx(10 * math.log10(255**2 / 50), rel=1e-6)
    assert 0 < values["SSIM"] < 1 and values["LPIPS"] > 0
    assert "MS-SSIM" not in values and any("MS-SSIM skipped" in n for n in result.notes)  # 48 px < 176 px minimum
    same = evaluate_pair(studio, PairRequest(tmp_path / "ref.png", tmp_path / "ref.png", ("ssim", "lpips", "mse")))
    same_values = {r["metric"]: r["value"] for r in same.rows}
    assert same_values == {"SSIM": pytest.approx(1.0), "LPIPS": pytest.approx(0.0, abs=1e-6), "MSE": 0.0}


def test_pair_refuses_different_sizes_and_missing_images(studio, tmp_path):
    picture(1, (64, 48)).save(tmp_path / "a.png")
    picture(2, (48, 64)).save(tmp_path / "b.png")
    with pytest.raises(InputError, match="64×48 but the reference is 48×64"):
        evaluate_pair(studio, PairRequest(tmp_path / "a.png", tmp_path / "b.png"))
    with pytest.raises(InputError, match="both an image and its reference"):
        evaluate_pair(studio, PairRequest(tmp_path / "a.png", None))
    with pytest.raises(InputError, match="allowed: psnr"):
        evaluate_pair(studio, PairRequest(tmp_path / "a.png", tmp_path / "a.png", ("fid",)))


def test_autoencoder_round_trips_score_each_reconstruction(studio, tmp_path):
    picture(3, (70, 50)).save(tmp_path / "in.png")
    models = tuple(s.id for s in studio.registry.for_tasks(["autoencode"]))[:3]
    result = evaluate_autoencoders(studio, AutoencodeRequest(tmp_path / "in.png", models))
    assert result.images[0][1] == "input" and len(result.images) == 1 + len(models)
    by_model = {}
    for r in result.rows:
        by_model.setdefault(r["subject"], {})[r["metric"]] = r["value"]
    assert set(by_model) == set(models)
    for model_id, (recon, _) in zip(models, result.images[1:]):
        spec = studio.spec(model_id)
        assert recon.width % spec.defaults.size_multiple == 0 and recon.height % spec.defaults.size_multiple == 0
        assert np.isfinite(by_model[model_id]["PSNR (dB)"]) and -1 <= by_model[model_id]["SSIM"] <= 1
    # PSNR of the returned reconstruction against the fitted input, recomputed here
    first = studio.spec(models[0])
    from genart_demo.imagefit import fit_to_multiple

    fitted, _ = fit_to_multiple(
        Image.open(tmp_path / "in.png").convert("RGB"),
        first.defaults.size_multiple,
        min_side=first.defaults.size_min,
        max_side=first.defaults.size_max,
    )
    to_t = lambda im: torch.from_numpy(np.asarray(im, np.float32) / 255).permute(2, 0, 1)[None]
    expected = psnr(to_t(result.images[1][0]), to_t(fitted)).item()
    assert by_model[models[0]]["PSNR (dB)"] == pytest.approx(expected, abs=0.05)  # 8-bit rounding of the output
    assert ssim(to_t(fitted), to_t(fitted)).item() == pytest.approx(1.0)


def test_autoencoder_choice_is_checked(studio, tmp_path):
    picture(4).save(tmp_path / "in.png")
    with pytest.raises(InputError, match="at least one autoencoder"):
        evaluate_autoencoders(studio, AutoencodeRequest(tmp_path / "in.png", ()))
    with pytest.raises(InputError, match="Autoencoders"):
        evaluate_autoencoders(studio, AutoencodeRequest(tmp_path / "in.png", ("sd15",)))


def test_clip_scores_match_the_scorer_and_prompts_come_from_pngs(studio, tmp_path):
    folder = studio.settings.output_dir / "eval-clip"
    folder.mkdir(parents=True, exist_ok=True)
    prompts = ["a red cat", "a blue dog", "a green tree"]
    for i, prompt in enumerate(prompts):
        save_png(picture(10 + i), folder / f"{i}.png", GenerateSettings(model="sd15", seed=i, prompt=prompt))
    result = evaluate_clip(studio, ClipRequest(str(folder)))
    scorer = clip_model(studio)
    expected = scorer.score([picture(10 + i) for i in range(3)], prompts)
    per_image = [r["value"] for r in result.rows if r["metric"] == "CLIPScore"]
    assert per_image == pytest.approx(expected["per_image"].tolist(), abs=1e-6)
    mean = next(r for r in result.rows if r["metric"] == "CLIPScore (mean)")
    assert mean["value"] == pytest.approx(float(expected["mean"]), abs=1e-6)
    assert any(r["metric"] == "CLIP R-precision" and 0 <= r["value"] <= 1 for r in result.rows)
    long_prompt = " ".join(["cat"] * 120)
    long = evaluate_clip(studio, ClipRequest(str(folder), f"{long_prompt}\na\nb"))
    assert any("longer than CLIP's 77 tokens" in n for n in long.notes)
    with pytest.raises(InputError, match="3 image\\(s\\) but 2 prompt"):
        evaluate_clip(studio, ClipRequest(str(folder), "one\ntwo"))


def test_clip_needs_prompts_when_pngs_have_none(studio):
    folder = studio.settings.output_dir / "eval-clip-plain"
    folder.mkdir(parents=True, exist_ok=True)
    picture(20).save(folder / "x.png")
    with pytest.raises(InputError, match="carries no prompt"):
        evaluate_clip(studio, ClipRequest(str(folder)))
