"""Image sets for evaluation: zips read in memory with escaping paths and non-images skipped, typed paths (folders and
zips) kept to roots, uploads read where they are."""

import io
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.imagesets import ByteBudget, describe_sizes, read_files, read_folder, read_set, read_zip


def png(value: int, size=(8, 8), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, value if mode == "L" else (value, value, value)).save(buf, "PNG")
    return buf.getvalue()


def make_zip(path, members: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return str(path)


def test_zip_reads_images_sorted_and_skips_others_and_escapes(tmp_path):
    path = make_zip(
        tmp_path / "set.zip",
        {
            "b.png": png(1),
            "a/c.png": png(2),
            "notes.txt": b"hello",
            "../evil.png": png(3),
            "/abs.png": png(4),
            "__MACOSX/._b.png": b"junk",
        },
    )
    found = read_zip(path)
    assert found.names == ["a/c.png", "b.png"]
    assert len(found) == 2 and found.decode(0).image.getpixel((0, 0)) == (2, 2, 2)
    text = " ".join(found.notes)
    assert "notes.txt" in text and "../evil.png" in text and "/abs.png" in text
    assert not (tmp_path / "evil.png").exists() and not (tmp_path.parent / "evil.png").exists()


def test_zip_with_too_few_images_or_not_a_zip_is_refused(tmp_path):
    with pytest.raises(InputError, match="holds 1 image file.*at least 2"):
        read_zip(make_zip(tmp_path / "one.zip", {"a.png": png(1), "x.txt": b"x"}))
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        read_zip(tmp_path / "bad.zip")


def test_zip_bomb_limits_refuse_before_reading(tmp_path):
    path = make_zip(tmp_path / "big.zip", {"a.png": png(1), "b.png": png(2), "c.png": b"\0" * 100_000})
    with pytest.raises(InputError, match=r"^big.zip, 3 images, unpacks to 0.1 MB.*the limit is 0.05 MB per request"):
        read_zip(path, budget=ByteBudget(50_000))
    with pytest.raises(InputError, match="limit is 2 per set"):
        read_zip(path, max_images=2)


def test_content_hash_depends_on_bytes_not_names_or_order(tmp_path):
    one = read_zip(make_zip(tmp_path / "1.zip", {"x.png": png(1), "y.png": png(2)}))
    two = read_zip(make_zip(tmp_path / "2.zip", {"q.png": png(2), "r.png": png(1)}))
    three = read_zip(make_zip(tmp_path / "3.zip", {"x.png": png(1), "y.png": png(3)}))
    assert one.content_hash() == two.content_hash() != three.content_hash()


def test_folder_must_lie_under_a_root_and_links_out_are_skipped(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "set").mkdir(parents=True)
    outside.mkdir()
    for i in range(3):
        (root / "set" / f"{i}.png").write_bytes(png(i))
    (outside / "secret.png").write_bytes(png(9))
    os.symlink(outside / "secret.png", root / "set" / "link.png")
    found = read_folder(root / "set", roots=[root])
    assert found.names == ["0.png", "1.png", "2.png"]
    assert "link.png" in " ".join(found.notes)
    with pytest.raises(InputError, match="outside the folders genart may read"):
        read_folder(outside, roots=[root])
    with pytest.raises(InputError, match="outside the folders"):
        read_folder(root / "set" / ".." / ".." / "outside", roots=[root])
    assert len(read_set(outside, roots=None, minimum=1)) == 1


def test_loose_files_and_mixed_modes(tmp_path):
    (tmp_path / "a.png").write_bytes(png(10, (8, 8), "L"))
    (tmp_path / "b.png").write_bytes(png(20, (16, 8)))
    (tmp_path / "c.txt").write_text("x")
    found = read_files([tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.txt"])
    assert len(found) == 2 and "c.txt" in found.notes[0]
    loaded = [found.decode(i) for i in range(2)]
    assert [x.image.mode for x in loaded] == ["RGB", "RGB"]
    assert np.asarray(loaded[0].image).shape == (8, 8, 3)
    notes = describe_sizes([x.original_size for x in loaded], [x.original_mode for x in loaded])
    assert "2 distinct" in notes[0] and "1 L" in notes[1]


def test_a_typed_zip_path_is_held_to_the_roots_like_a_folder(tmp_path):
    """Regression: read_set read a .zip from anywhere on disk; only folders were checked against the roots."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    (outside / "arena").mkdir(parents=True)
    members = {"a.png": png(1), "b.png": png(2)}
    inside = make_zip(root / "in.zip", members)
    elsewhere = make_zip(outside / "out.zip", members)
    private = make_zip(outside / "arena" / "p.zip", members)
    os.symlink(elsewhere, root / "link.zip")
    assert read_set(inside, roots=[root]).names == ["a.png", "b.png"]
    for typed in (elsewhere, root / "link.zip", root / ".." / "outside" / "out.zip"):
        with pytest.raises(InputError, match=r"outside the folders genart may read. Allowed roots: .*root"):
            read_set(typed, roots=[root])
    with pytest.raises(InputError, match="lies in a private folder of the server"):
        read_set(private, roots=[outside], private=[outside / "arena"])


def test_uploads_are_read_where_they_are_and_a_lone_zip_is_the_set(tmp_path):
    """Uploads (a list) need no root: they are where the upload widget put them. A zip alone keeps its folders."""
    lone = read_files([make_zip(tmp_path / "up.zip", {"207/a.png": png(1), "3/b.png": png(2)})], minimum=2)
    assert lone.names == ["207/a.png", "3/b.png"]
    (tmp_path / "c.png").write_bytes(png(3))
    mixed = read_files([tmp_path / "up.zip", tmp_path / "c.png"])
    assert mixed.names == ["c.png", "up.zip/207/a.png", "up.zip/3/b.png"]
