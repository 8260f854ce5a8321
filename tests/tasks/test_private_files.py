"""The server's private files (the arena's vote database and signing key) are never read, listed or shown."""

from dataclasses import replace

import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.studio import Studio
from genart_demo.tasks.evaluate_common import resolve_set


@pytest.fixture()
def outputs(tmp_path, settings):
    """An output folder holding images beside the arena's private folder (key, database and one image)."""
    out = tmp_path / "out"
    studio = Studio.create(replace(settings, output_dir=out))
    arena = studio.settings.workspace.arena
    arena.mkdir(parents=True)
    (arena / "secret.key").write_bytes(b"k" * 32)
    (arena / "arena.db").write_bytes(b"SQLite format 3\x00")
    for i in range(3):
        Image.new("RGB", (16, 16), (i * 80, 0, 0)).save(out / f"img{i}.png")
    Image.new("RGB", (16, 16)).save(arena / "private.png")
    return studio, out, arena


def test_a_set_from_the_outputs_skips_the_private_folder_without_naming_it(outputs):
    """Regression: the Evaluate tab read outputs/arena and listed secret.key and arena.db by name."""
    studio, out, _ = outputs
    found = resolve_set(studio, str(out), "Set A")
    assert len(found) == 3 and found.names == ["img0.png", "img1.png", "img2.png"]  # not the arena's private.png
    text = " ".join(found.notes)
    assert "secret.key" not in text and "arena.db" not in text and "private.png" not in text


def test_the_private_folder_itself_is_refused(outputs):
    studio, _, arena = outputs
    with pytest.raises(InputError, match="private folder of the server"):
        resolve_set(studio, str(arena), "Set A")
