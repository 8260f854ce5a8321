"""Zips and image files an evaluation reads: one byte budget per request across all its sets, a compression-ratio
check before anything is inflated, typed zip paths held to the allowed roots, and the sets' memory given back."""

import gc
import io
import platform
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.imagesets import ByteBudget, ImageSet, read_files, read_zip
from genart_demo.settings import Settings, SettingsError
from genart_demo.studio import Studio
from genart_demo.tasks import evaluate_common
from genart_demo.tasks.evaluate import SetsRequest, evaluate_sets
from genart_demo.tasks.evaluate_common import resolve_set


def noise_png(seed: int, size=(320, 320)) -> bytes:
    """About 300 KB: noise does not compress, so zips of these have a ratio near 1."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def zip_of(path, members: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return str(path)


@pytest.fixture()
def two_images(tmp_path) -> tuple[str, int]:
    """(a zip of two ~300 KB noise PNGs outside every allowed root, the bytes they unpack to)."""
    members = {"0.png": noise_png(0), "1.png": noise_png(1)}
    return zip_of(tmp_path / "two.zip", members), sum(map(len, members.values()))


def test_an_entry_that_unpacks_absurdly_is_refused_before_anything_is_inflated(tmp_path, monkeypatch):
    """2 MB of zeros pack into ~2 KB (about 1000:1, as a zip bomb's entries do); the old code inflated it."""
    path = zip_of(tmp_path / "bomb.zip", {"a.png": noise_png(0, (8, 8)), "zeros.png": bytes(2 * 1024**2)})
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a) or real_open(self, *a, **k))
    with pytest.raises(InputError) as refused:
        read_zip(path)
    message = str(refused.value)
    assert message.startswith("bomb.zip: zeros.png would unpack to ")
    assert "times its packed size (2 MB from " in message
    assert "the limit is 100 times for entries over 1 MB" in message
    assert opened == []  # refused from the zip's directory, before inflating any entry


def test_small_entries_may_compress_as_well_as_they_like(tmp_path):
    flat = zip_of(tmp_path / "flat.zip", {"a.png": noise_png(0, (8, 8)), "zeros.png": bytes(512 * 1024)})
    assert read_zip(flat).names == ["a.png", "zeros.png"]  # 512 KB at ~500:1 is under the 1 MB floor


def test_a_zip_given_three_times_counts_three_times(two_images):
    """Regression: the cap applied per zip, so one 1 GB zip uploaded three times took the server to 6.5 GB."""
    path, size = two_images
    assert len(read_files([path, path], budget=ByteBudget(2 * size))) == 4
    with pytest.raises(InputError) as refused:
        read_files([path, path, path], budget=ByteBudget(2 * size + 1))
    message = str(refused.value)
    assert message.startswith(
        "images: two.zip, 2 images, unpacks to 0.59 MB, which would bring this request to 1.76 MB"
    )
    assert "the limit is 1.17 MB per request, all sets and files together (GENART_EVAL_MAX_MB)" in message


def test_loose_files_count_too(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(noise_png(i))
    with pytest.raises(InputError, match=r"^set A: 2.png unpacks to 0.29 MB.*limit is 0.75 MB per request"):
        read_files([tmp_path / f"{i}.png" for i in range(3)], label="set A", budget=ByteBudget(768 * 1024))


def test_both_sets_of_an_evaluation_share_one_budget(settings, tmp_path, two_images):
    """Set A and set B each fit GENART_EVAL_MAX_MB=1; together (the same zip in both) they do not."""
    path, _ = two_images
    studio = Studio.create(replace(settings, output_dir=tmp_path / "out", eval_max_mb=1))
    assert len(resolve_set(studio, [path], "set A (reference)")) == 2
    with pytest.raises(InputError) as refused:
        evaluate_sets(studio, SetsRequest([path], [path], metrics=("fid",)))
    message = str(refused.value)
    assert message.startswith("set A (reference): two.zip, 2 images, unpacks to 0.59 MB, which would bring")
    assert "the limit is 1 MB per request" in message


def test_a_typed_zip_path_is_held_to_the_roots_but_the_same_zip_uploaded_is_read(studio, two_images):
    """Regression: a .zip path typed into the folder box was read from anywhere on disk (folders were checked)."""
    path, _ = two_images
    with pytest.raises(InputError, match=r"two.zip is outside the folders genart may read. Allowed roots: "):
        resolve_set(studio, path, "set A")
    assert resolve_set(studio, [path], "set A").names == ["0.png", "1.png"]  # an upload: where Gradio put it


def test_a_refused_evaluation_keeps_no_image_set_alive_and_trims_the_heap(studio, tmp_path, monkeypatch):
    """The error Gradio holds after a refusal keeps its traceback, not the image bytes its frames held; and the
    C heap is trimmed after every evaluation (glibc kept 1 GB after one of 900 MB)."""
    released = []
    monkeypatch.setattr(evaluate_common, "release_memory", lambda: released.append(1))
    members = {f"{i}.png": noise_png(i, (32, 32)) for i in range(4)}
    path = zip_of(tmp_path / "unlabelled.zip", members)
    with pytest.raises(InputError, match="need class labels") as refused:
        evaluate_sets(studio, SetsRequest([path], [path], metrics=("intra-fid",)))
    gc.collect()
    alive = [
        o for o in gc.get_objects() if isinstance(o, ImageSet) and o.blobs == [members[n] for n in sorted(members)]
    ]
    assert alive == [] and refused.value.__traceback__ is not None
    assert released == [1]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_memory_finds_malloc_trim():
    assert evaluate_common._malloc_trim() is not None
    evaluate_common.release_memory()


def test_the_budget_is_a_setting_in_mb():
    assert Settings.from_env({}).eval_max_mb == 4096
    assert Settings.from_env({"GENART_EVAL_MAX_MB": "0"}).eval_max_mb == 0  # no limit
    assert ByteBudget.of_mb(2).limit == 2 * 1024**2
    with pytest.raises(SettingsError, match=r"GENART_EVAL_MAX_MB='-1' is out of range. Allowed: a whole number from 0"):
        Settings.from_env({"GENART_EVAL_MAX_MB": "-1"})
