"""The evaluate task for single images: paired metrics, autoencoder round trips, CLIPScore against prompts."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..imagefit import fit_to_multiple
from ..imageio import load_image
from ..imagesets import ImageSet
from ..media import read_png_settings
from ..studio import Studio
from .common import ProgressFn, spec_for_tasks, to_image, to_tensor, workspace_for
from .evaluate_common import EvalResult, check_metrics, resolve_set, returns_memory, row, write_result

PAIR_METRICS = ("psnr", "ssim", "ms-ssim", "mse", "lpips")
CLIP_CONVENTIONS = ("per_sample", "mean")  # clamp each image's score at 0 (paper) or the mean (torchmetrics)
MAX_AUTOENCODERS = 4  # round trips shown side by side


def lpips_model(studio: Studio):
    from ..metrics.lpips import load_lpips  # lazy: imports torch (seconds); only this path needs it

    return studio.cache.get_model(
        "lpips", lambda: load_lpips(standin=studio.offline, allow_download=not studio.offline)
    )


def clip_model(studio: Studio):
    from ..metrics.clip import load_clip  # lazy: imports torch (seconds); only this path needs it

    return studio.cache.get_model(
        "clip", lambda: load_clip(standin=studio.offline, local_files_only=studio.offline).to(studio.cache.device)
    )


def decoded_images(images: ImageSet, progress: ProgressFn | None = None) -> list:
    """Every image of the set as a PIL image, with a "reading images" progress step per image."""
    pils = []
    for i in range(len(images)):
        pils.append(images.decode(i).image)
        if progress:
            progress(i + 1, len(images), "reading images")
    return pils


def paired_rows(studio: Studio, x, y, metrics: tuple[str, ...], subject: str, notes: list[str]) -> list[dict]:
    """Rows for `x` (candidate) against `y` (reference), both (1, 3, H, W) float in [0, 1]."""
    # lazy: imports torch (seconds); only this path needs it
    from ..metrics.lpips import lpips
    from ..metrics.pixel import ms_ssim, mse, psnr, ssim

    rows = []
    if "psnr" in metrics:
        rows.append(row("PSNR (dB)", psnr(x, y).item(), subject=subject, n=1, convention="data_range 1, per image"))
    if "ssim" in metrics:
        rows.append(
            row(
                "SSIM",
                ssim(x, y).item(),
                subject=subject,
                n=1,
                convention="Gaussian 11x11 σ=1.5, k1=0.01, k2=0.03, data_range 1",
            )
        )
    if "ms-ssim" in metrics:
        try:
            rows.append(
                row(
                    "MS-SSIM",
                    ms_ssim(x, y).item(),
                    subject=subject,
                    n=1,
                    convention="5 scales, weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)",
                )
            )
        except ValueError as exc:
            notes.append(f"MS-SSIM skipped for {subject}: {exc}")
    if "mse" in metrics:
        rows.append(row("MSE", mse(x, y).item(), subject=subject, n=1, convention="pixels in [0, 1]"))
    if "lpips" in metrics:
        model = lpips_model(studio)
        value = lpips(x * 2 - 1, y * 2 - 1, model).item()
        rows.append(
            row(
                "LPIPS",
                value,
                subject=subject,
                n=1,
                extractor=model.info.name,
                convention="inputs in [-1, 1], spatial mean",
            )
        )
    return rows


# --- section (b): an image against its reference -------------------------------------------------------------


@dataclass(frozen=True)
class PairRequest:
    image: Any  # the candidate: path, bytes, PIL image or array
    reference: Any  # the ground truth, same size
    metrics: tuple[str, ...] = PAIR_METRICS


def evaluate_pair(studio: Studio, req: PairRequest, *, output_dir: Path | None = None) -> EvalResult:
    """PSNR / SSIM / MS-SSIM / MSE / LPIPS of one image against its reference."""
    started = time.perf_counter()
    metrics = check_metrics(req.metrics, PAIR_METRICS, "Paired metrics")
    if req.image is None or req.reference is None:
        raise InputError("Paired metrics need both an image and its reference.")
    image, reference = (
        load_image(req.image, label="image", limit=studio.settings.max_pixels),
        load_image(req.reference, label="reference", limit=studio.settings.max_pixels),
    )
    if image.image.size != reference.image.size:
        (w, h), (rw, rh) = image.image.size, reference.image.size
        raise InputError(
            f"The image is {w}×{h} but the reference is {rw}×{rh}; paired metrics compare pixels, "
            "so both must be the same size."
        )
    notes = [f"image: {n}" for n in image.notes] + [f"reference: {n}" for n in reference.notes]
    rows = paired_rows(studio, to_tensor(image.image), to_tensor(reference.image), metrics, "image vs reference", notes)
    result = EvalResult(rows, notes, info={"size": list(image.image.size), "standin": studio.offline})
    result.seconds = time.perf_counter() - started
    return write_result(result, workspace_for(studio, output_dir), "pair")


# --- section (c): autoencoder round trip ---------------------------------------------------------------------


@dataclass(frozen=True)
class AutoencodeRequest:
    image: Any
    models: tuple[str, ...]  # registry ids of "autoencode" entries
    metrics: tuple[str, ...] = ("psnr", "ssim", "lpips")


def evaluate_autoencoders(
    studio: Studio, req: AutoencodeRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> EvalResult:
    """Encode and decode one image through each chosen autoencoder; reconstructions plus their metrics."""
    # lazy: imports torch (seconds); only this path needs it
    from ..autoencode import describe_autoencoder, roundtrip

    started = time.perf_counter()
    models = tuple(req.models or ())
    if not models:
        raise InputError("Choose at least one autoencoder.")
    if len(models) > MAX_AUTOENCODERS or len(set(models)) != len(models):
        raise InputError(f"Choose 1 to {MAX_AUTOENCODERS} different autoencoders; got {len(models)}.")
    metrics = check_metrics(req.metrics, PAIR_METRICS, "Round-trip metrics")
    specs = [spec_for_tasks(studio, m, ("autoencode",), "Autoencoders") for m in models]
    if req.image is None:
        raise InputError("Give an image to send through the autoencoders.")
    loaded = load_image(req.image, label="image", limit=studio.settings.max_pixels)
    notes, rows, images = list(loaded.notes), [], []
    for i, spec in enumerate(specs):
        d = spec.defaults
        fitted, fit_notes = fit_to_multiple(loaded.image, d.size_multiple, min_side=d.size_min, max_side=d.size_max)
        notes += [f"{spec.id}: {n}" for n in fit_notes]
        if progress:
            progress(i, len(specs), f"round trip through {spec.id}")
        entry = studio.cache.get(spec, keep=tuple(s.id for s in specs[:i]))
        x = to_tensor(fitted)
        recon = roundtrip(entry.pipe, x)
        desc = describe_autoencoder(entry.pipe)
        rows += paired_rows(studio, recon, x, metrics, spec.id, notes)
        images.append((to_image(recon), f"{spec.name} — {desc}"))
    if progress:
        progress(len(specs), len(specs), "done")
    standins = [s.id for s in specs if studio.runs_standin(s)]
    if standins:
        notes.append(
            f"Offline: {', '.join(standins)} are tiny random-weight stand-ins; their reconstructions are noise."
        )
    result = EvalResult(
        rows, notes, images=[(loaded.image, "input")] + images, info={"models": list(models), "standin": bool(standins)}
    )
    result.seconds = time.perf_counter() - started
    return write_result(result, workspace_for(studio, output_dir), "autoencode")


# --- section (d): CLIPScore of images against their prompts -------------------------------------------------


@dataclass(frozen=True)
class ClipRequest:
    images: Any  # uploads (list of files), a zip or a folder under an allowed root
    prompts: Any = ""  # one per line in the images' (sorted file name) order; empty = each PNG's own prompt
    convention: str = "per_sample"  # one of CLIP_CONVENTIONS


def _prompts_from_pngs(images: ImageSet) -> tuple[ImageSet, list[str]]:
    """Each PNG's own prompt, and the set narrowed to the images that carry one: one image without a prompt (an
    upload, a GAN result) is skipped and named in the set's notes rather than failing the folder. InputError when
    none carries one."""
    keep, prompts, missing = [], [], []
    for i, (name, blob) in enumerate(zip(images.names, images.blobs)):
        try:
            prompt = getattr(read_png_settings(io.BytesIO(blob)), "prompt", None)
        except (OSError, ValueError, SyntaxError):  # not a readable PNG: no prompt from it
            prompt = None
        if isinstance(prompt, str) and prompt.strip():
            keep.append(i)
            prompts.append(prompt)
        else:
            missing.append(name)
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    if not keep:
        which = (
            f"{shown} carries no prompt"
            if len(missing) == 1
            else f"None of the {len(missing)} images ({shown}) carries a prompt"
        )
        raise InputError(f"{which} in its PNG settings; type the prompts, one per line.")
    if missing:
        note = f"{images.label}: skipped {len(missing)} image(s) without a prompt in their PNG settings: {shown}."
        images = replace(
            images,
            names=[images.names[i] for i in keep],
            blobs=[images.blobs[i] for i in keep],
            notes=[*images.notes, note],
            _hash=None,
        )
    return images, prompts


def images_with_prompts(studio: Studio, source: Any, prompts: Any) -> tuple[ImageSet, list[str]]:
    """The images `source` names and one prompt each: typed (a text, one per line, or a list) in file-name order, or
    when none is typed each PNG's own (images without one skipped and named). InputError when the counts differ."""
    images = resolve_set(studio, source, "images", minimum=1)
    if isinstance(prompts, str):
        typed = [p.strip() for p in prompts.splitlines() if p.strip()]
    else:
        typed = [str(p) for p in (prompts or [])]
    if not typed:
        return _prompts_from_pngs(images)
    if len(typed) != len(images):
        raise InputError(
            f"{len(images)} image(s) but {len(typed)} prompt(s): give one prompt per image, in the "
            f"images' file-name order ({', '.join(images.names[:3])}{'…' if len(images) > 3 else ''})."
        )
    return images, typed


@returns_memory
def evaluate_clip(
    studio: Studio, req: ClipRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> EvalResult:
    """CLIPScore per image and mean, plus CLIP R-precision (the true prompt among the others)."""
    from ..metrics.clip import r_precision  # lazy: imports torch (seconds); only this path needs it

    started = time.perf_counter()
    if req.convention not in CLIP_CONVENTIONS:
        raise InputError(f"CLIPScore convention {req.convention!r} — allowed: {', '.join(CLIP_CONVENTIONS)}.")
    images, prompts = images_with_prompts(studio, req.images, req.prompts)
    scorer = clip_model(studio)
    notes = list(images.notes)
    pils = decoded_images(images, progress)
    scored = scorer.score(pils, prompts, convention=req.convention)
    name = scorer.info.name
    rows = [
        row(
            "CLIPScore",
            v,
            subject=f"{images.names[i]}: {prompts[i][:60]}",
            n=1,
            extractor=name,
            convention=scored["convention"],
        )
        for i, v in enumerate(scored["per_image"])
    ]
    rows.append(
        row(
            "CLIPScore (mean)",
            scored["mean"],
            subject=f"{len(images)} images",
            n=len(images),
            extractor=name,
            convention=scored["convention"],
        )
    )
    if len(images) >= 2:
        precision = r_precision(scored["image_features"], scored["text_features"])
        rows.append(
            row(
                "CLIP R-precision",
                precision["r_precision"],
                subject=f"{len(images)} images",
                n=len(images),
                extractor=name,
                convention=precision["convention"],
            )
        )
    for i in scored["truncated"]:
        notes.append(f"prompt {i + 1} is longer than CLIP's 77 tokens; it was cut, keeping the end-of-text token.")
    if scorer.info.standin:
        notes.append(f"{name} is a tiny random-weight stand-in: these numbers test the plumbing only.")
    result = EvalResult(rows, notes, info={"clip": scorer.info.as_dict(), "standin": studio.offline})
    result.seconds = time.perf_counter() - started
    return write_result(result, workspace_for(studio, output_dir), "clip")
