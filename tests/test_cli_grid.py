"""`genart grid` on stand-ins: a 3x3 grid written and its path printed; a bad axis exits 2 with its message."""

from pathlib import Path

import numpy as np
from PIL import Image

from genart_demo.media import read_png_settings
from genart_demo.tasks.grid_image import read_grid_metadata


def test_grid_command_writes_the_grid_and_prints_its_path(genart_cli, tmp_path):
    done = genart_cli(
        "grid", "--model", "sd15", "--prompt", "a red fox", "--seed", "5",
        "--x", "steps: 1-3", "--y", "guidance: 3, 5, 7", "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.parent.parent == tmp_path / "grids" and path.exists()
    meta = read_grid_metadata(path)
    assert [a["kind"] for a in meta["axes"]] == ["steps", "guidance"] and len(meta["cells"]) == 9
    assert "9 cells (1 text encodings, 8 shared)" in done.stderr
    cells = [Path(c["file"]) for c in meta["cells"]]
    assert [(read_png_settings(p).steps, read_png_settings(p).guidance) for p in cells[:4]] == [
        (1, 3.0), (2, 3.0), (3, 3.0), (1, 5.0),
    ]  # fmt: skip
    first = np.asarray(Image.open(cells[0]).convert("RGB"))
    grid = np.asarray(Image.open(path).convert("RGB"))
    h, w = first.shape[:2]
    assert grid.shape[0] > 3 * h and grid.shape[1] > 3 * w
    assert np.array_equal(grid[-3 * h : grid.shape[0] - 2 * h, -3 * w : grid.shape[1] - 2 * w], first)


def test_grid_command_refuses_a_bad_axis(genart_cli, tmp_path):
    done = genart_cli(
        "grid", "--model", "sd15", "--prompt", "fox", "--x", "seed: 1, 2", "--y", "seed: 3", "--out", str(tmp_path)
    )
    assert done.returncode == 2
    assert "error: Each grid axis must be of a different kind; seed is given twice." in done.stderr
    assert not list(tmp_path.rglob("*.png"))


def test_a_two_model_grid_from_the_command_line_remakes_its_cells(genart_cli, tmp_path):
    """2 models x 3 seeds by `genart grid`: each model's text encoding is computed once (one per model), the cells
    are each model's, and a cell of each model made again by `genart generate` from its PNG's settings has the same
    pixels (both in a CLI process: CPU float sums may round apart between processes with other thread settings)."""
    done = genart_cli(
        "grid", "--model", "sd15", "--prompt", "a red fox", "--steps", "2",
        "--x", "model: sd15, sd-turbo", "--y", "seed: 1-3", "--out", str(tmp_path / "cli"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "6 cells (2 text encodings, 4 shared)" in done.stderr
    cells = [Path(c["file"]) for c in read_grid_metadata(Path(done.stdout.strip()))["cells"]]
    assert sorted((read_png_settings(c).model, read_png_settings(c).seed) for c in cells) == [
        ("sd-turbo", 1), ("sd-turbo", 2), ("sd-turbo", 3), ("sd15", 1), ("sd15", 2), ("sd15", 3),
    ]  # fmt: skip
    for cell in (cells[0], cells[-1]):
        s = read_png_settings(cell)
        again = genart_cli(
            "generate", "--model", s.model, "--prompt", s.prompt, "--steps", str(s.steps), "--guidance",
            str(s.guidance), "--scheduler", s.scheduler, "--seed", str(s.seed), "--out", str(tmp_path / cell.stem),
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        remade = next((tmp_path / cell.stem).rglob("*.png"))
        assert np.array_equal(np.asarray(Image.open(remade)), np.asarray(Image.open(cell))), cell.name
