"""`genart eval video A [B]`: per-video rows printed and written as JSON, FVD only with a second folder, and a folder
without videos exits 2 with one error line."""

import json

import numpy as np

from genart_demo.video import write_mp4


def _folder(path, seed, n=2):
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        write_mp4(rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8), path / f"v{i}.mp4", 8, {})
    return path


def test_eval_video_prints_per_video_rows_and_fvd(genart_cli, tmp_path):
    a, b = _folder(tmp_path / "a", 1), _folder(tmp_path / "b", 2)
    out = tmp_path / "video.json"
    proc = genart_cli("eval", "video", str(a), str(b), "--json", str(out), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["metric"] for r in rows if r["subject"] == "v0.mp4"] == [
        "Temporal flicker",
        "Motion smoothness (midpoint proxy)",
        "CLIP frame consistency",
        "Subject consistency (DINOv2)",
    ]
    fvd = [r for r in rows if r["metric"] == "FVD"]
    assert len(fvd) == 1 and fvd[0]["subject"] == "a vs b" and fvd[0]["value"] > 0
    assert proc.stdout.startswith("Temporal flicker") and f"{fvd[0]['value']:.6g}" in proc.stdout
    alone = genart_cli("eval", "video", str(a), "--out", str(tmp_path / "o"))
    assert alone.returncode == 0, alone.stderr
    assert "FVD" not in alone.stdout and "Temporal flicker (mean)" in alone.stdout


def test_eval_video_on_a_folder_without_videos_exits_2(genart_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = genart_cli("eval", "video", str(tmp_path / "empty"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().splitlines()[-1] == f"error: The videos folder '{tmp_path / 'empty'}' holds no .mp4 videos."
    )
