"""Videos a battle shows are copies without the metadata that names the model, one per video, reused when shown again."""

import subprocess
from pathlib import Path

from genart_demo.video import ffmpeg_exe
from leaderboard.arena.ui_common import stripped_video


def _metadata(path) -> str:
    """The file's metadata as ffmpeg's ffmetadata text."""
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "ffmetadata", "-"],
        capture_output=True,
        check=True,
    )
    return done.stdout.decode()


def test_a_video_is_shown_without_its_model_and_copied_once(tmp_path):
    made = tmp_path / "3f2a9c.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=16x16:d=0.2"]
        + ["-metadata", "comment=model: animatediff-sd15", "-pix_fmt", "yuv420p", str(made)],
        check=True,
    )
    assert "animatediff-sd15" in _metadata(made)
    first, again = stripped_video(made), stripped_video(made)
    assert first == again and "animatediff" not in _metadata(first) and "3f2a9c" not in first
    other = tmp_path / "77aa01.mp4"
    other.write_bytes(made.read_bytes())
    assert stripped_video(other) != first
    folder = {p.name for p in Path(first).parent.iterdir()}
    assert len(folder) >= 2 and not any(name.startswith(".") for name in folder)  # no half-written copies left
