"""Video output: browser-playable H.264 mp4 (bundled ffmpeg) with JSON metadata, GIF, frame strips, probing."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .atomic import atomic_write

MAX_FPS = 60
MIN_FPS = 1
CRF = 18  # x264 quality: visually lossless for generated content
X264_PRESET = "medium"

Frames = Sequence[Image.Image] | Sequence[np.ndarray] | np.ndarray
PathLike = str | os.PathLike

_FRAME_RE = re.compile(r"frame=\s*(\d+)")
_SIZE_RE = re.compile(r"\b(\d{1,5})x(\d{1,5})\b")
_RATE_RE = re.compile(r"([\d.]+)(k?) (fps|tbr)")
_VIDEO_FILTER = (  # RGB -> BT.709 limited-range YUV, tagged so browsers and decoders use the same matrix
    "scale=out_color_matrix=bt709:out_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,"
    "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"
)
_FFMETA_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


@dataclass
class VideoInfo:
    """What `probe_mp4` reads back from a file."""

    frames: int
    fps: float
    width: int
    height: int
    codec: str
    pix_fmt: str
    metadata: dict = field(default_factory=dict)


# --- Frames in ----------------------------------------------------------------------------------------------


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled in the imageio-ffmpeg wheel (or IMAGEIO_FFMPEG_EXE)."""
    import imageio_ffmpeg  # lazy: only writing video needs the ffmpeg binary

    return imageio_ffmpeg.get_ffmpeg_exe()


def _frame_to_array(frame: Any) -> np.ndarray:
    """One PIL image or (H, W, 3) array -> (H, W, 3) uint8."""
    if isinstance(frame, Image.Image):
        return np.asarray(frame.convert("RGB"), dtype=np.uint8)
    return _to_uint8(np.asarray(frame))


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """uint8 passes through; floats in [0, 1] are clipped, scaled and rounded."""
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return (np.clip(arr, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    raise ValueError(f"frames must be uint8 or float in [0, 1], got dtype {arr.dtype}")


def to_frame_array(frames: Frames) -> np.ndarray:
    """PIL images or a uint8/float (F, H, W, 3) array -> contiguous (F, H, W, 3) uint8; ValueError if empty."""
    if isinstance(frames, np.ndarray):
        arr = _to_uint8(frames)
    else:
        if len(frames) == 0:
            raise ValueError("no frames to write (got 0 frames)")
        parts = [_frame_to_array(f) for f in frames]
        if len({p.shape for p in parts}) != 1:
            raise ValueError(f"all frames must have the same size, got {sorted({p.shape for p in parts})}")
        arr = np.stack(parts)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"frames must be (F, H, W, 3) RGB, got shape {tuple(arr.shape)}")
    if arr.shape[0] == 0:
        raise ValueError("no frames to write (got 0 frames)")
    return np.ascontiguousarray(arr)


def pad_to_even(arr: np.ndarray) -> np.ndarray:
    """Replicate the last row/column once where height/width is odd (yuv420p needs even sizes)."""
    pad_h, pad_w = arr.shape[1] % 2, arr.shape[2] % 2
    if not (pad_h or pad_w):
        return arr
    return np.pad(arr, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def check_fps(fps: int) -> int:
    """fps must be a whole number in MIN_FPS..MAX_FPS."""
    if isinstance(fps, bool) or int(fps) != fps or not MIN_FPS <= fps <= MAX_FPS:
        raise ValueError(f"fps must be a whole number from {MIN_FPS} to {MAX_FPS}, got {fps!r}")
    return int(fps)


# --- Writing ------------------------------------------------------------------------------------------------


def _mp4_command(width: int, height: int, fps: int, comment: str, out: Path) -> list[str]:
    """ffmpeg argv: raw rgb24 frames on stdin -> H.264 yuv420p (BT.709 tagged) mp4 with faststart."""
    return [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-framerate",
        str(fps),
        "-i",
        "pipe:0",
        "-an",
        "-vf",
        _VIDEO_FILTER,
        "-c:v",
        "libx264",
        "-preset",
        X264_PRESET,
        "-crf",
        str(CRF),
        "-pix_fmt",
        "yuv420p",
        "-fps_mode",
        "passthrough",
        "-map_metadata",
        "-1",
        "-metadata",
        f"comment={comment}",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(out),
    ]


def _run_ffmpeg(cmd: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg; RuntimeError with its stderr tail on failure."""
    done = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace")[-2000:]
        raise RuntimeError(f"ffmpeg failed (exit {done.returncode}): {tail}")
    return done


def write_mp4(frames: Frames, path: PathLike, fps: int, metadata: dict) -> Path:
    """Write frames as a browser-playable H.264 mp4 at exactly `fps`, one video frame per input frame.

    Odd widths/heights are padded by one replicated edge pixel (yuv420p needs even sizes), so the file can be
    one pixel wider/taller than the input. `metadata` is stored as JSON in the mp4 `comment` tag and in a
    sidecar `path.with_suffix(".json")`. Both files appear atomically (temp file + os.replace).
    """
    fps = check_fps(fps)
    arr = pad_to_even(to_frame_array(frames))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    comment = json.dumps(metadata, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    atomic_write(
        path, lambda tmp: _run_ffmpeg(_mp4_command(arr.shape[2], arr.shape[1], fps, comment, tmp), stdin=arr.tobytes())
    )
    atomic_write(path.with_suffix(".json"), json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def write_gif(frames: Frames, path: PathLike, fps: int) -> Path:
    """Looping GIF via Pillow. GIF stores delays in 1/100 s, so 8 fps (125 ms) reads back as 120 or 130 ms;
    Pillow also merges consecutive identical frames into one longer frame."""
    fps = check_fps(fps)
    images = [Image.fromarray(f) for f in to_frame_array(frames)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(
        path,
        lambda tmp: images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], loop=0, duration=1000 / fps
        ),
    )


def frame_strip(frames: Frames, max_frames: int = 8, height: int = 128) -> Image.Image:
    """Up to `max_frames` evenly spaced frames (first and last included), scaled to `height`, side by side."""
    if max_frames < 1 or height < 1:
        raise ValueError(f"max_frames and height must be >= 1, got {max_frames}, {height}")
    arr = to_frame_array(frames)
    count, h, w = arr.shape[:3]
    picks = np.unique(np.linspace(0, count - 1, min(max_frames, count)).round().astype(int))
    tile_w = max(1, round(w * height / h))
    strip = Image.new("RGB", (tile_w * len(picks), height))
    for slot, index in enumerate(picks):
        tile = Image.fromarray(arr[index]).resize((tile_w, height), Image.Resampling.LANCZOS)
        strip.paste(tile, (slot * tile_w, 0))
    return strip


# --- Reading ------------------------------------------------------------------------------------------------


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses or brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _video_stream_line(stderr: str) -> str:
    """The text after 'Video: ' on ffmpeg's first video stream line."""
    for line in stderr.splitlines():
        if "Stream #" in line and "Video: " in line:
            return line.split("Video: ", 1)[1]
    raise ValueError("no video stream found")


def _parse_fps(parts: list[str]) -> float:
    """'8 fps' (or, failing that, '8 tbr') from the stream line parts ('1k' means 1000)."""
    rates = {
        m.group(3): float(m.group(1)) * (1000 if m.group(2) else 1)
        for m in map(_RATE_RE.fullmatch, (p.split(" (")[0] for p in parts))
        if m
    }
    if not rates:
        raise ValueError("no frame rate on the video stream line")
    return rates.get("fps", rates.get("tbr", 0.0))


def _parse_stream(stderr: str) -> tuple[str, str, int, int, float]:
    """codec, pix_fmt, width, height, fps from `ffmpeg -i` stderr."""
    parts = _split_top_level(_video_stream_line(stderr))
    codec = parts[0].split()[0]
    pix_fmt = parts[1].split("(")[0].strip()
    size = next(m for m in map(_SIZE_RE.search, parts[2:]) if m)
    return codec, pix_fmt, int(size.group(1)), int(size.group(2)), _parse_fps(parts)


def _unescape_ffmetadata(value: str) -> str:
    """Undo ffmetadata escaping of '=', ';', '#', '\\' and newlines."""
    return _FFMETA_ESCAPED.sub(lambda m: m.group(1), value)


def _parse_ffmetadata(text: str) -> dict[str, str]:
    """Global tags of an ffmetadata dump (stops at the first [SECTION])."""
    joined = re.sub(r"\\\n", "\\\x00", text)  # escaped newline stays inside its value
    tags: dict[str, str] = {}
    for line in joined.split("\n")[1:]:
        if line.startswith("["):
            break
        if not line or line.startswith((";", "#")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        tags[_unescape_ffmetadata(key)] = _unescape_ffmetadata(value.replace("\x00", "\n"))
    return tags


def _decode_comment(comment: str | None) -> dict:
    """JSON dict from the comment tag; {} when absent or not a JSON object."""
    try:
        value = json.loads(comment) if comment else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def probe_mp4(path: PathLike) -> VideoInfo:
    """Stream facts from ffmpeg's header dump, the exact frame count by decoding, metadata from the comment tag."""
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-f",
        "null",
        "-",
        "-map_metadata",
        "0",
        "-f",
        "ffmetadata",
        "pipe:1",
    ]
    done = _run_ffmpeg(cmd)
    stderr = done.stderr.decode("utf-8", "replace")
    codec, pix_fmt, width, height, fps = _parse_stream(stderr)
    counts = _FRAME_RE.findall(stderr)
    tags = _parse_ffmetadata(done.stdout.decode("utf-8", "replace"))
    return VideoInfo(
        frames=int(counts[-1]) if counts else 0,
        fps=fps,
        width=width,
        height=height,
        codec=codec,
        pix_fmt=pix_fmt,
        metadata=_decode_comment(tags.get("comment")),
    )


def read_frames(path: PathLike) -> np.ndarray:
    """Decode every frame to a (F, H, W, 3) uint8 RGB array."""
    import imageio_ffmpeg  # lazy: only writing video needs the ffmpeg binary

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        width, height = next(reader)["size"]
        frames = [np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3) for buf in reader]
    finally:
        reader.close()
    if not frames:
        raise ValueError(f"{path}: no frames decoded")
    return np.stack(frames)
