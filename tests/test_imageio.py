"""Image/mask loading: the bad-input corpus, colour-mode conversions, masks and fitting, checked by numbers."""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.imageio import load_image, load_mask
from genart_demo.settings import DEFAULT_MAX_PIXELS


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, raw_rows: bytes, *, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG written by hand: IHDR claims width×height whatever the (compressed) data really holds."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw_rows)) + _chunk(b"IEND", b"")
    )


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    return tuple(np.asarray(image)[xy[1], xy[0]].tolist())


# --- Bad input -----------------------------------------------------------------------------------------------------


def test_text_file_named_png_is_refused_with_allowed_formats(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("hello, this is not an image\n")
    with pytest.raises(InputError) as info:
        load_image(path)
    message = str(info.value)
    assert message.startswith("The image could not be read as an image (")
    assert "Allowed: PNG, JPEG, WebP, BMP, GIF, TIFF." in message


def test_random_bytes_are_refused() -> None:
    data = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(InputError, match="could not be read as an image"):
        load_image(data, label="init image")
    with pytest.raises(InputError, match="^The init image"):
        load_image(io.BytesIO(data), label="init image")


def test_truncated_png_is_refused(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = _png_bytes(Image.fromarray(noise))
    path = tmp_path / "half.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"could not be read as an image \(.*\)\. Allowed: PNG"):
        load_image(path)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "cat.png"
    with pytest.raises(InputError, match="does not exist") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_unsupported_source_type_lists_what_is_allowed() -> None:
    with pytest.raises(InputError, match="Allowed: a file path, bytes"):
        load_image(12345)  # type: ignore[arg-type]


def test_ihdr_bomb_is_refused_quickly_before_decoding(tmp_path: Path) -> None:
    # 30000×30000 claimed (900 M pixels, 2.7 GB decoded), a few bytes of data: above Pillow's own hard limit.
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(30000, 30000, b"\x00" * 100))
    started = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_image(path)
    assert time.perf_counter() - started < 1.0
    message = str(info.value)
    assert "900,000,000 pixels" in message
    assert f"the limit is {DEFAULT_MAX_PIXELS:,}" in message
    assert "GENART_MAX_PIXELS" in message


def test_header_above_our_limit_is_refused_with_width_and_height(tmp_path: Path) -> None:
    # 5000×5000 = 25 M: above DEFAULT_MAX_PIXELS (16.8 M), below Pillow's own limits, so our check decides.
    data = _png(5000, 5000, b"\x00" * 100)
    started = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_image(data)
    assert time.perf_counter() - started < 1.0
    assert str(info.value) == (
        "The image is 5000×5000 = 25,000,000 pixels; the limit is 16,777,216 (set GENART_MAX_PIXELS to change it)."
    )


def test_pillow_bomb_warning_range_is_our_input_error_not_a_warning() -> None:
    # 10000×10000 = 100 M: Pillow warns (above its MAX_IMAGE_PIXELS) but does not refuse; we must refuse, quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="10000×10000 = 100,000,000 pixels; the limit is 16,777,216"):
            load_image(_png(10000, 10000, b"\x00" * 100))


def test_pillow_hard_limit_explained_when_our_limit_is_higher() -> None:
    hard = 2 * Image.MAX_IMAGE_PIXELS
    with pytest.raises(
        InputError, match=f"900,000,000 pixels; Pillow's own safety limit is {hard:,} pixels.*cannot raise"
    ):
        load_image(_png(30000, 30000, b"\x00" * 100), limit=10**9)


def test_small_image_over_explicit_limit(tmp_path: Path) -> None:
    path = tmp_path / "ten.png"
    Image.new("RGB", (10, 10), (1, 2, 3)).save(path)
    with pytest.raises(InputError) as info:
        load_image(path, limit=50)
    assert "10×10 = 100 pixels; the limit is 50" in str(info.value)
    assert load_image(path, limit=100).image.size == (10, 10)


def test_limit_applies_to_arrays_and_pil_images() -> None:
    with pytest.raises(InputError, match="8×4 = 32 pixels; the limit is 31"):
        load_image(np.zeros((4, 8), np.uint8), limit=31)
    with pytest.raises(InputError, match="8×4 = 32 pixels; the limit is 31"):
        load_image(Image.new("L", (8, 4)), limit=31)


def test_the_limit_is_the_one_given() -> None:
    # the studio passes Settings.max_pixels (GENART_MAX_PIXELS, checked when the settings are read)
    with pytest.raises(InputError, match="10×10 = 100 pixels; the limit is 99"):
        load_image(Image.new("RGB", (10, 10)), limit=99)
    for bad in (0, -1, 2.5, True, "lots"):
        with pytest.raises(InputError, match="is not a pixel count"):
            load_image(Image.new("RGB", (10, 10)), limit=bad)


# --- Colour modes ----------------------------------------------------------------------------------------------


def test_rgba_transparency_is_flattened_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)  # invisible red
    rgba[0, 1] = (0, 0, 0, 128)  # half-transparent black
    rgba[1, 0] = (10, 20, 30, 255)  # opaque colour stays
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    loaded = load_image(path)
    assert loaded.image.mode == "RGB" and loaded.original_mode == "RGBA" and loaded.original_size == (2, 2)
    assert _pixel(loaded.image, (0, 0)) == (255, 255, 255)
    assert all(abs(v - 127) <= 1 for v in _pixel(loaded.image, (1, 0)))
    assert _pixel(loaded.image, (0, 1)) == (10, 20, 30)
    assert loaded.notes == ["converted from RGBA: transparency flattened on white"]


def test_opaque_rgba_has_no_transparency_note() -> None:
    loaded = load_image(Image.new("RGBA", (3, 3), (9, 8, 7, 255)))
    assert loaded.notes == [] and _pixel(loaded.image, (1, 1)) == (9, 8, 7)


def test_la_is_flattened() -> None:
    la = np.array([[[50, 0], [50, 255]]], np.uint8)
    loaded = load_image(Image.fromarray(la, "LA"))
    assert _pixel(loaded.image, (0, 0)) == (255, 255, 255)
    assert _pixel(loaded.image, (1, 0)) == (50, 50, 50)
    assert loaded.notes == ["converted from LA: transparency flattened on white"]


def test_palette_with_transparent_index(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    path = tmp_path / "p.png"
    image.save(path, transparency=0)
    loaded = load_image(path)
    assert loaded.original_mode == "P"
    assert _pixel(loaded.image, (0, 0)) == (255, 255, 255)
    assert _pixel(loaded.image, (1, 0)) == (0, 0, 255)
    assert loaded.notes == ["converted from P: transparency flattened on white"]


def test_palette_without_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    image.putpixel((1, 0), 1)
    path = tmp_path / "p.gif"
    image.save(path)
    loaded = load_image(path)
    assert [_pixel(loaded.image, (x, 0)) for x in range(2)] == [(255, 0, 0), (0, 0, 255)]
    assert loaded.notes == []


def test_grayscale_and_bilevel_become_rgb() -> None:
    assert _pixel(load_image(Image.new("L", (1, 1), 77)).image, (0, 0)) == (77, 77, 77)
    bilevel = load_image(Image.new("1", (1, 1), 1))
    assert bilevel.image.mode == "RGB" and _pixel(bilevel.image, (0, 0)) == (255, 255, 255)


def test_cmyk_zero_ink_is_white_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (4, 4), (0, 0, 0, 0)).save(path, quality=100)
    for source in (Image.new("CMYK", (4, 4), (0, 0, 0, 0)), path):
        loaded = load_image(source)
        assert loaded.original_mode == "CMYK"
        assert all(v >= 254 for v in _pixel(loaded.image, (2, 2)))
        assert any("CMYK" in note for note in loaded.notes)


def test_sixteen_bit_grayscale_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "g16.png"
    Image.fromarray(np.array([[0, 32768, 65535]], np.uint16)).save(path)
    with Image.open(path) as raw:
        assert raw.mode == "I;16"  # how Pillow 12 opens a 16-bit grayscale PNG
    loaded = load_image(path)
    assert loaded.original_mode == "I;16"
    values = np.asarray(loaded.image)[0, :, 0].tolist()
    assert all(abs(got - want) <= 1 for got, want in zip(values, [0, 128, 255]))
    assert any("16-bit" in note for note in loaded.notes)


def test_sixteen_bit_big_endian_and_32_bit_modes() -> None:
    big = Image.frombytes("I;16B", (3, 1), struct.pack(">3H", 0, 32768, 65535))
    assert np.asarray(load_image(big).image)[0, :, 0].tolist() == [0, 128, 255]
    wide = Image.fromarray(np.array([[0, 32768, 65535]], np.int32))
    assert wide.mode == "I"
    assert np.asarray(load_image(wide).image)[0, :, 0].tolist() == [0, 128, 255]


def test_sixteen_bit_numpy_arrays_are_scaled() -> None:
    loaded = load_image(np.array([[0, 32768, 65535]], np.uint16))
    assert np.asarray(loaded.image)[0, :, 0].tolist() == [0, 128, 255]
    assert loaded.original_mode == "L;uint16" and loaded.original_size == (3, 1)
    rgb = np.zeros((1, 2, 3), np.uint16)
    rgb[0, 0] = (65535, 32768, 0)
    assert _pixel(load_image(rgb).image, (0, 0)) == (255, 128, 0)


def test_sixteen_bit_rgb_png_is_reduced_with_a_note() -> None:
    raw = b"\x00" + struct.pack(">6H", 65535, 32768, 0, 0, 0, 0)
    loaded = load_image(_png(2, 1, raw, depth=16, colour=2))
    assert loaded.original_mode == "RGB"  # Pillow opens 16-bit RGB PNGs as 8-bit RGB (high byte)
    assert _pixel(loaded.image, (0, 0)) == (255, 128, 0)
    assert any("16-bit-per-channel" in note for note in loaded.notes)


def test_float_inputs() -> None:
    loaded = load_image(np.array([[0.0, 0.5, 1.0, 1.0]], np.float32))
    assert np.asarray(loaded.image)[0, :, 0].tolist() == [0, 128, 255, 255]
    clipped = load_image(np.array([[-5.0, 100.0, 300.0]], np.float64))
    assert np.asarray(clipped.image)[0, :, 0].tolist() == [0, 100, 255]
    f_mode = Image.fromarray(np.array([[0.0, 0.25, 1.0]], np.float32))
    assert f_mode.mode == "F"
    loaded_f = load_image(f_mode)
    assert np.asarray(loaded_f.image)[0, :, 0].tolist() == [0, 64, 255]
    assert loaded_f.notes == ["converted from floating-point grayscale (F): values 0–1 scaled to 0–255"]
    f_wide = Image.fromarray(np.array([[-1.0, 100.4, 300.0]], np.float32))  # max > 1: taken as 0–255
    assert np.asarray(load_image(f_wide).image)[0, :, 0].tolist() == [0, 100, 255]


def test_array_shape_and_dtype_errors_say_what_is_allowed() -> None:
    with pytest.raises(InputError, match=r"shape \(2, 2, 2\).*Allowed: \(H, W\)"):
        load_image(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(InputError, match="int32 with values outside 0–255. Allowed: uint8"):
        load_image(np.array([[0, 1000]], np.int32))
    assert _pixel(load_image(np.array([[7, 200]], np.int64)).image, (1, 0)) == (200, 200, 200)


def test_exif_orientation_6_rotates_with_a_note(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 20))  # white band on the stored image's left
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    image.save(path, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.original_size == (40, 20)
    assert loaded.image.size == (20, 40)
    assert min(_pixel(loaded.image, (10, 3))) > 200  # orientation 6: stored left edge ends up on top
    assert max(_pixel(loaded.image, (10, 36))) < 50
    assert any("EXIF orientation (6)" in note for note in loaded.notes)


def test_animated_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (4, 4), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    loaded = load_image(path)
    assert _pixel(loaded.image, (1, 1)) == (255, 0, 0)
    assert any("3 frames" in note and "first frame" in note for note in loaded.notes)


def test_caller_pil_image_is_not_returned_as_is() -> None:
    source = Image.new("RGB", (2, 2), (1, 1, 1))
    loaded = load_image(source)
    assert loaded.image is not source
    loaded.image.putpixel((0, 0), (9, 9, 9))
    assert source.getpixel((0, 0)) == (1, 1, 1)


# --- Masks ---------------------------------------------------------------------------------------------------------


def test_mask_of_another_size_is_resized_with_a_note() -> None:
    mask_array = np.zeros((32, 32), np.uint8)
    mask_array[:, 16:] = 255
    mask, notes = load_mask(mask_array, (64, 48))
    assert mask.mode == "L" and mask.size == (64, 48)
    values = np.asarray(mask)
    assert values[:, :30].max() == 0 and values[:, 34:].min() == 255
    assert notes == ["mask was 32×32, resized to match the image's 64×48"]


def test_mask_keeps_soft_edges_and_exact_size() -> None:
    mask, notes = load_mask(np.array([[0, 100, 255]], np.uint8), (3, 1))
    assert np.asarray(mask).tolist() == [[0, 100, 255]] and notes == []


def test_empty_mask_is_refused() -> None:
    with pytest.raises(InputError, match=r"^The mask is empty: paint \(white\) over the area to change\.$"):
        load_mask(np.full((8, 8), 7, np.uint8), (8, 8))
    with pytest.raises(InputError, match="The mask is empty"):
        load_mask(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), (8, 8))


def test_drawn_layer_mask_uses_alpha(tmp_path: Path) -> None:
    layer = np.zeros((16, 16, 4), np.uint8)  # transparent black layer...
    layer[4:8, :, :] = (255, 255, 255, 255)  # ...with an opaque white stroke
    path = tmp_path / "layer.png"
    Image.fromarray(layer, "RGBA").save(path)
    mask, notes = load_mask(path, (16, 16))
    values = np.asarray(mask)
    assert values[4:8].min() == 255
    assert values[:4].max() == 0 and values[8:].max() == 0
    assert any("transparency" in note for note in notes)


def test_opaque_black_white_rgba_mask_uses_luminance() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:2, :, :3] = 255
    mask, _ = load_mask(rgba, (4, 4))
    assert np.asarray(mask)[:2].min() == 255 and np.asarray(mask)[2:].max() == 0


def test_mask_errors_use_the_mask_label() -> None:
    with pytest.raises(InputError, match="^The mask could not be read as an image"):
        load_mask(b"not an image", (8, 8))
    with pytest.raises(InputError, match="Allowed: \\(width, height\\)"):
        load_mask(np.full((8, 8), 255, np.uint8), (0, 8))
