"""`genart eval ...` from the command line: numbers printed and written as JSON, errors exit 2 with a message."""

import json
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from genart_demo.media import save_png
from genart_demo.run_settings import GenerateSettings

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


def test_eval_clip_skips_and_names_a_png_without_a_prompt(genart_cli, tmp_path):
    """Regression: one PNG without a prompt (an upload, a GAN result) failed the whole folder."""
    folder = make_images(tmp_path / "imgs", 3, 3)
    for name, prompt in (("0.png", "a red fox"), ("1.png", "a blue bird")):  # 2.png keeps no settings
        save_png(Image.open(folder / name).convert("RGB"), folder / name, GenerateSettings(prompt=prompt, seed=1))
    out = tmp_path / "clip.json"
    proc = genart_cli("eval", "clip", str(folder), "--json", str(out), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    subjects = [r["subject"] for r in data["rows"] if r["metric"] == "CLIPScore"]
    assert subjects == ["0.png: a red fox", "1.png: a blue bird"]
    assert [r["n"] for r in data["rows"] if r["metric"] == "CLIPScore (mean)"] == [2]
    assert "note: images: skipped 1 image(s) without a prompt in their PNG settings: 2.png." in proc.stderr
    none = genart_cli("eval", "clip", str(make_images(tmp_path / "bare", 2, 4)), "--out", str(tmp_path / "o"))
    assert (
        none.returncode == 2
        and "None of the 2 images (0.png, 1.png) carries a prompt in its PNG settings" in none.stderr
    )


def test_eval_cmmd_of_a_set_with_itself_is_zero_and_against_another_positive(genart_cli, tmp_path):
    a, b = make_images(tmp_path / "a", 4, 5), make_images(tmp_path / "b", 4, 6)
    out = tmp_path / "cmmd.json"
    proc = genart_cli("eval", "cmmd", str(a), str(b), "--json", str(out), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert [r["metric"] for r in data["rows"]] == ["CMMD"] and data["rows"][0]["value"] > 0
    assert "σ=10" in data["rows"][0]["convention"] and proc.stdout.startswith("CMMD")
    same = genart_cli("eval", "cmmd", str(a), str(a), "--json", str(out), "--out", str(tmp_path / "o"))
    assert abs(json.loads(out.read_text())["rows"][0]["value"]) < 1e-6, same.stderr


def test_eval_score_prints_the_per_image_table_and_refuses_unknown_scorers(genart_cli, tmp_path):
    folder = make_images(tmp_path / "imgs", 2, 7)
    (tmp_path / "prompts.txt").write_text("a red fox\na blue bird\n")
    out = tmp_path / "score.json"
    proc = genart_cli(
        "eval", "score", str(folder), "--prompts", str(tmp_path / "prompts.txt"), "--scorers", "pickscore",
        "--json", str(out), "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    values = [r["value"] for r in data["rows"] if r["metric"] == "PickScore"]
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["image", "prompt", "PickScore"] and len(lines) == 4
    assert lines[1].startswith("0.png") and "a red fox" in lines[1] and f"{values[0]:.6g}" in lines[1]
    assert lines[3].startswith("mean") and f"{sum(values) / 2:.6g}" in lines[3]
    assert "stand-in" in proc.stderr
    bad = genart_cli("eval", "score", str(folder), "--scorers", "pickscore,nope", "--out", str(tmp_path / "o"))
    assert bad.returncode == 2 and "Scorers: nope — allowed: pickscore" in bad.stderr
