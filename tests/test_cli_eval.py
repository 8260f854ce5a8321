"""`genart eval ...` from the command line: numbers printed and written as JSON, errors exit 2 with a message."""

import json
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def make_images(folder, n, seed):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_eval_fid_on_a_folder_and_a_zip_writes_json(genart_cli, tmp_path):
    a = make_images(tmp_path / "a", 6, 1)
    b = make_images(tmp_path / "b", 6, 2)
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(b.glob("*.png")):
            zf.write(p, p.name)
    proc = genart_cli(
        "eval", "fid", str(a), str(archive), "--json", str(tmp_path / "fid.json"), "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "fid.json").read_text())
    assert [r["metric"] for r in data["rows"]] == ["FID"] and data["rows"][0]["value"] > 0
    assert data["info"]["extractor"]["standin"] is True
    assert proc.stdout.startswith("FID") and f"{data['rows'][0]['value']:.6g}" in proc.stdout
    again = genart_cli("eval", "fid", str(a), str(b), "--out", str(tmp_path / "o"))
    assert f"{data['rows'][0]['value']:.6g}" in again.stdout  # same files in a folder: same number, from the cache
    assert "reference cache" in again.stderr


def test_eval_psnr_and_errors(genart_cli, tmp_path):
    ref = np.full((24, 24, 3), 50, np.uint8)
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(ref + 5).save(tmp_path / "img.png")
    proc = genart_cli("eval", "psnr", str(tmp_path / "img.png"), str(tmp_path / "ref.png"), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("PSNR (dB)")
    assert abs(float(proc.stdout.split()[2]) - 10 * np.log10(255**2 / 25)) < 1e-4  # MSE 25 grey levels²
    bad = genart_cli("eval", "fid", str(tmp_path / "ref.png"), str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert bad.returncode == 2 and "error:" in bad.stderr and "is not a folder" in bad.stderr
