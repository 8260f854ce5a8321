"""The images of a leaderboard run as numbers: per-image CLIPScores against their prompts, features for FID/KID."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genart_demo.imageio import load_image
from genart_demo.metrics.ids import model_slug

CLIP_CONVENTION = "per_sample"  # CLIPScore per image (torchmetrics' per-sample 100*max(cos, 0))
ProgressFn = Callable[[int, int, str], None]


def set_hash(sha256s: Sequence[str]) -> str:
    """genart_demo.metrics.refcache.content_hash of the files whose sha256 hex digests these are (no re-reading)."""
    # lazy: imports torch (seconds); only this path needs it
    from genart_demo.metrics.refcache import digests_hash

    return digests_hash(bytes.fromhex(s) for s in sha256s)


def decoded_image(path: Path):
    return load_image(path, label=path.name).image  # RGB PIL


def image_features(
    extractor,
    decode: Callable[[int], Any],
    count: int,
    *,
    batch_size: int = 32,
    progress: ProgressFn | None = None,
    desc: str = "features",
) -> np.ndarray:
    """extractor features of images 0..count-1 (decode(i) -> RGB PIL), batched by size: (count, d) float32."""
    import torch  # lazy: torch takes seconds to import; only model work needs it

    out: np.ndarray | None = None
    groups: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
    done = 0

    def flush(group: list[tuple[int, np.ndarray]]) -> None:
        nonlocal out, done
        batch = torch.from_numpy(np.stack([g[1] for g in group])).permute(0, 3, 1, 2)  # (B, 3, H, W) uint8
        feats = extractor(batch)["features"].detach().float().cpu().numpy()  # (B, d)
        if out is None:
            out = np.zeros((count, feats.shape[1]), dtype=np.float32)
        out[[g[0] for g in group]] = feats
        done += len(group)
        group.clear()
        if progress:
            progress(done, count, desc)

    for i in range(count):
        pil = decode(i)
        group = groups.setdefault(pil.size, [])
        group.append((i, np.asarray(pil, dtype=np.uint8)))
        if len(group) == batch_size:
            flush(group)
    for group in groups.values():
        if group:
            flush(group)
    return out


def describe_clip(clip) -> dict:
    info = getattr(clip, "info", None)
    info = info.as_dict() if hasattr(info, "as_dict") else info
    return dict(info) if isinstance(info, dict) and "id" in info else {"id": type(clip).__name__, "standin": None}


def default_clip_id(standin: bool) -> str:
    """The ExtractorInfo id load_clip(standin=...) gives, known before loading (so a fully cached run loads nothing)."""
    # lazy: imports torch (seconds); only this path needs it
    from genart_demo.metrics.clip import DEFAULT_CLIP

    return "standin-clip-seed0" if standin else "clip-" + model_slug(DEFAULT_CLIP)


def expected_clip_info(out_dir: Path, standin: bool) -> dict:
    """What load_clip(standin=...) will report, taken from the last scores.json when it used the same CLIP."""
    expected = {"id": default_clip_id(standin), "standin": standin}
    try:
        previous = json.loads((out_dir / "scores.json").read_text()).get("clip", {})
    except (OSError, ValueError, AttributeError):
        return expected
    return previous if isinstance(previous, dict) and previous.get("id") == expected["id"] else expected


def clip_scores(clip, run: Path, rows: list[dict], batch_size: int, progress: ProgressFn | None):
    """(per-image CLIPScores (N,), truncated flags (N,)) for rows, batch by batch."""
    scores, truncated = np.zeros(len(rows)), np.zeros(len(rows), dtype=bool)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        got = clip.score(
            [decoded_image(run / r["path"]) for r in chunk],
            [str(r.get("prompt", "")) for r in chunk],
            convention=CLIP_CONVENTION,
        )
        per_image = got["per_image"]
        scores[start : start + len(chunk)] = np.asarray(
            per_image.detach().cpu() if hasattr(per_image, "detach") else per_image, dtype=np.float64
        )
        for i in got.get("truncated", []):
            truncated[start + i] = True
        if progress:
            progress(start + len(chunk), len(rows), "CLIPScore")
    return scores, truncated
