"""Safe image and mask loading for the studio: any upload -> fully decoded RGB (or L mask), with notes for people."""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError
from .imagefit import ALPHA_BACKGROUND, check_size_arg, same_aspect, size_text
from .settings import DEFAULT_MAX_PIXELS

# --- Limits and policy ------------------------------------------------------------------------------------------
MAX_PIXELS_ENV = "GENART_MAX_PIXELS"  # the setting that raises the pixel limit (named in messages)
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")  # Pillow plugin ids we decode ("JPEG" also opens MPO)
ALLOWED_FORMATS_TEXT = "PNG, JPEG, WebP, BMP, GIF, TIFF"
MASK_EMPTY_BELOW = 8  # mask values below this count as "not painted" for the emptiness check
MASK_SOLID_ALPHA = 128  # pixels at least this opaque decide whether a drawn layer has one colour
MASK_UNIFORM_TOLERANCE = 16  # max per-channel spread of a drawn layer's colour that still counts as one colour

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes] | Image.Image | np.ndarray

# Errors Pillow and its codecs raise for data that is not a (complete) image.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, KeyError)
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_SIXTEEN_BIT_GRAY = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


@dataclass
class LoadedImage:
    """A decoded RGB image plus what the user should be told about how it was read."""

    image: Image.Image  # always mode "RGB", fully decoded
    notes: list[str] = field(default_factory=list)
    original_mode: str = "RGB"  # Pillow mode of the source; arrays: "L"/"RGB"/"RGBA", plus ";<dtype>" unless uint8
    original_size: tuple[int, int] = (0, 0)  # (width, height) as stored, before EXIF rotation


# --- Limits ----------------------------------------------------------------------------------------------------


def _checked_limit(limit: Any) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InputError(f"limit={limit!r} is not a pixel count. Allowed: a positive whole number.")
    return limit


def _too_large(label: str, width: int, height: int, limit: int) -> InputError:
    return InputError(
        f"The {label} is {width}×{height} = {width * height:,} pixels; the limit is {limit:,} "
        f"(set {MAX_PIXELS_ENV} to change it)."
    )


def _check_pixels(label: str, size: tuple[int, int], limit: int) -> None:
    width, height = size
    if width * height > limit:
        raise _too_large(label, width, height, limit)


def _bomb_error(label: str, exc: Exception, limit: int) -> InputError:
    """Pillow refused the header itself (above 2× Image.MAX_IMAGE_PIXELS); its message holds the pixel count."""
    found = _BOMB_PIXELS.search(str(exc))
    pixels = int(found.group(1)) if found else None
    size = f"{pixels:,} pixels" if pixels is not None else "too many pixels"
    if pixels is not None and pixels > limit:
        return InputError(f"The {label} is {size}; the limit is {limit:,} (set {MAX_PIXELS_ENV} to change it).")
    pil_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return InputError(
        f"The {label} is {size}; Pillow's own safety limit is {pil_limit:,} pixels, "
        f"which {MAX_PIXELS_ENV} cannot raise. Allowed: images up to {min(limit, pil_limit):,} pixels."
    )


def _unreadable(label: str, reason: str) -> InputError:
    return InputError(f"The {label} could not be read as an image ({reason}). Allowed: {ALLOWED_FORMATS_TEXT}.")


def unreadable_error(label: str, exc: BaseException, source: Any = None, limit: int = DEFAULT_MAX_PIXELS) -> InputError:
    """The InputError for an image Pillow could not open (e.g. inside Gradio's upload handling): what it is, why, and
    what is allowed. `source`, when a path, lets an empty file be called empty; `limit` is the pixel limit in force."""
    if isinstance(exc, Image.DecompressionBombError):
        return _bomb_error(label, exc, limit)
    if isinstance(source, (str, Path)) and os.path.isfile(source) and os.path.getsize(source) == 0:
        return _unreadable(label, "the file is empty")
    return _unreadable(label, _reason(exc))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "its contents are not a recognised image format"
    text = str(exc).strip() or type(exc).__name__
    if "truncated" in text:
        return f"the data is incomplete: {text}"
    return f"the data is damaged: {text}"


# --- Opening -----------------------------------------------------------------------------------------------------


def _as_stream(source: Any, label: str) -> IO[bytes] | str:
    """A path string or a seekable binary stream for Image.open; InputError for anything else."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputError(
                f"The {label} file {str(path)!r} does not exist. Allowed: a path to an existing image file."
            )
        if path.is_dir():
            raise InputError(f"The {label} path {str(path)!r} is a folder. Allowed: a path to an image file.")
        return str(path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if hasattr(source, "read"):
        seekable = getattr(source, "seekable", None)
        if callable(seekable) and seekable():
            return source
        return io.BytesIO(source.read())
    raise InputError(
        f"The {label} is a {type(source).__name__}. Allowed: a file path, bytes, a binary file object, "
        "a PIL image or a numpy array."
    )


def _open_lazily(source: Any, label: str, limit: int) -> Image.Image:
    """Image.open (header only), refusing unknown formats and Pillow's decompression-bomb sizes as InputError."""
    stream = _as_stream(source, label)
    try:
        with warnings.catch_warnings():
            # Our own limit (checked next, before any pixel is decoded) decides; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(stream, formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise _bomb_error(label, exc, limit) from None
    except PermissionError as exc:
        raise InputError(
            f"The {label} file could not be opened ({exc.strerror}). Allowed: a readable image file."
        ) from None
    except _DECODE_ERRORS as exc:
        raise _unreadable(label, _reason(exc)) from None


# --- Bit depth: everything to 8 bits -----------------------------------------------------------------------------


def _scale16(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255 by scaling (65535 -> 255, 32768 -> 128), not by clipping."""
    return np.round(values.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)


def _scale_float(values: np.ndarray) -> tuple[np.ndarray, str]:
    """Floats -> uint8: values in [0, 1] scale by 255; otherwise they are taken as 0..255 and clipped."""
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    if values.size == 0 or values.max() <= 1.0:
        return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8), "values 0–1 scaled to 0–255"
    return np.round(np.clip(values, 0.0, 255.0)).astype(np.uint8), "values above 1 taken as 0–255 and clipped"


def _to_8bit(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """I;16*, I and F images -> mode "L"; other modes are returned as they are."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_GRAY:
        gray = _scale16(np.asarray(image))
        return Image.fromarray(gray, "L"), [f"converted from 16-bit grayscale ({mode}): values 0–65535 scaled to 0–255"]
    if mode == "I":
        values = np.asarray(image)
        note = "converted from 32-bit integer grayscale (I): values 0–65535 scaled to 0–255"
        if values.size and (values.min() < 0 or values.max() > 65535):
            note += " (values outside 0–65535 were clipped)"
        return Image.fromarray(_scale16(np.clip(values, 0, 65535)), "L"), [note]
    if mode == "F":
        gray, how = _scale_float(np.asarray(image))
        return Image.fromarray(gray, "L"), [f"converted from floating-point grayscale (F): {how}"]
    return image, []


def _sixteen_bit_colour(image: Image.Image) -> bool:
    """True when Pillow is about to reduce a 16-bit-per-channel file (e.g. RGB;16B PNG) to 8 bits while loading."""
    for tile in getattr(image, "tile", None) or []:
        args = tile[3] if len(tile) > 3 else None
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and ";16" in rawmode and image.mode not in _SIXTEEN_BIT_GRAY + ("I",):
            return True
    return False


# --- Arrays -----------------------------------------------------------------------------------------------------


def _array_layout(array: np.ndarray, label: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))) and array.shape[0] and array.shape[1]:
        return array
    raise InputError(
        f"The {label} array has shape {array.shape}. Allowed: (H, W), (H, W, 3) or (H, W, 4) with H, W ≥ 1."
    )


def _array_to_uint8(array: np.ndarray, label: str) -> tuple[np.ndarray, list[str]]:
    kind, dtype = array.dtype.kind, array.dtype
    if dtype == np.uint8:
        return array, []
    if dtype == np.uint16:
        return _scale16(array), ["converted from 16-bit values: 0–65535 scaled to 0–255"]
    if kind == "b":
        return array.astype(np.uint8) * 255, []
    if kind == "f":
        values, how = _scale_float(array)
        return values, [f"converted from floating-point values: {how}"]
    if kind in "iu" and (array.size == 0 or (array.min() >= 0 and array.max() <= 255)):
        return array.astype(np.uint8), []
    raise InputError(
        f"The {label} array has dtype {dtype} with values outside 0–255. Allowed: uint8 (0–255), "
        "uint16 (0–65535), float (0–1) or bool."
    )


def _from_array(array: np.ndarray, label: str, limit: int) -> tuple[Image.Image, list[str], str, tuple[int, int]]:
    array = _array_layout(array, label)
    size = (int(array.shape[1]), int(array.shape[0]))
    _check_pixels(label, size, limit)
    layout = {2: "L", 3: "RGB", 4: "RGBA"}[array.shape[2] if array.ndim == 3 else 2]
    original_mode = layout if array.dtype == np.uint8 else f"{layout};{array.dtype.name}"
    values, notes = _array_to_uint8(array, label)
    return Image.fromarray(np.ascontiguousarray(values), layout), notes, original_mode, size


# --- Decoding (shared by images and masks) --------------------------------------------------------------------------


def _first_frame(image: Image.Image) -> list[str]:
    frames = getattr(image, "n_frames", 1)
    if getattr(image, "is_animated", False) and frames > 1:
        image.seek(0)
        if image.format == "MPO":  # camera JPEGs carrying extra (stereo/depth/preview) pictures
            return [f"multi-picture JPEG (MPO) with {frames} pictures: only the first is used"]
        return [f"animated {image.format or 'image'} with {frames} frames: only the first frame is used"]
    return []


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001  (a damaged EXIF block must not make a readable image unreadable)
        return 1


def _decode_pil(image: Image.Image, label: str, limit: int) -> tuple[Image.Image, list[str], str, tuple[int, int]]:
    """Size check (header only), then decode, first frame, EXIF rotation and 8-bit depth; keeps colour mode."""
    original_mode, original_size = image.mode, image.size
    _check_pixels(label, original_size, limit)
    try:
        notes = _first_frame(image)
        if _sixteen_bit_colour(image):
            notes.append(f"16-bit-per-channel {original_mode} reduced to 8 bits per channel")
        image.load()
        orientation = _orientation(image)
        decoded = image
        if orientation in range(2, 9):
            decoded = ImageOps.exif_transpose(image)
            notes.append(
                f"rotated/flipped per the camera's EXIF orientation ({orientation}): "
                f"{original_size[0]}×{original_size[1]} -> {decoded.width}×{decoded.height}"
            )
        decoded, depth_notes = _to_8bit(decoded)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise _bomb_error(label, exc, limit) from None
    except _DECODE_ERRORS as exc:
        raise _unreadable(label, _reason(exc)) from None
    return decoded, notes + depth_notes, original_mode, original_size


def _decode(source: Any, label: str, limit: int) -> tuple[Image.Image, list[str], str, tuple[int, int]]:
    if isinstance(source, np.ndarray):
        return _from_array(source, label, limit)
    if isinstance(source, Image.Image):
        decoded = _decode_pil(source, label, limit)
        return (decoded[0].copy() if decoded[0] is source else decoded[0]), *decoded[1:]
    image = _open_lazily(source, label, limit)
    with image:
        decoded = _decode_pil(image, label, limit)
        return (decoded[0].copy() if decoded[0] is image else decoded[0]), *decoded[1:]


# --- Colour modes -----------------------------------------------------------------------------------------------


def _background_name() -> str:
    return "white" if tuple(ALPHA_BACKGROUND) == (255, 255, 255) else f"RGB{tuple(ALPHA_BACKGROUND)}"


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or (image.mode == "P" and image.has_transparency_data)


def _flatten(image: Image.Image) -> tuple[Image.Image, list[str]]:
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] == 255:
        return rgba.convert("RGB"), []
    background = Image.new("RGBA", rgba.size, tuple(ALPHA_BACKGROUND) + (255,))
    flat = Image.alpha_composite(background, rgba).convert("RGB")
    return flat, [f"converted from {image.mode}: transparency flattened on {_background_name()}"]


def _to_rgb(image: Image.Image, label: str) -> tuple[Image.Image, list[str]]:
    """Any 8-bit Pillow mode -> "RGB"; alpha is composited on ALPHA_BACKGROUND."""
    if image.mode == "RGB":
        return image, []
    if _has_alpha(image):
        return _flatten(image)
    if image.mode in ("L", "1", "P"):
        return image.convert("RGB"), []
    if image.mode == "CMYK":
        return image.convert("RGB"), [
            "converted from CMYK to RGB (simple formula, no colour profile): colours may shift"
        ]
    try:
        return image.convert("RGB"), [f"converted from {image.mode} to RGB"]
    except (ValueError, OSError) as exc:
        raise InputError(
            f"The {label} uses colour mode {image.mode}, which cannot be converted to RGB ({exc}). "
            "Allowed: RGB, RGBA, grayscale, palette, CMYK or 16-bit grayscale images."
        ) from None


def load_image(source: ImageSource, *, limit: int = DEFAULT_MAX_PIXELS, label: str = "image") -> LoadedImage:
    """Read any supported source into a fully decoded RGB image; bad or oversized input (over `limit` pixels, the
    studio's Settings.max_pixels) raises InputError."""
    cap = _checked_limit(limit)
    decoded, notes, original_mode, original_size = _decode(source, label, cap)
    rgb, mode_notes = _to_rgb(decoded, label)
    return LoadedImage(image=rgb, notes=notes + mode_notes, original_mode=original_mode, original_size=original_size)


# --- Masks ------------------------------------------------------------------------------------------------------------


def _drawn_layer_alpha(rgba: np.ndarray) -> np.ndarray | None:
    """The alpha channel when this looks like a transparent layer painted in one colour, else None."""
    alpha = rgba[..., 3]
    if alpha.min() == 255:
        return None  # fully opaque: an ordinary black/white mask, read by luminance
    if alpha.max() == 0:
        return alpha  # nothing painted (reported as an empty mask)
    solid = alpha >= MASK_SOLID_ALPHA
    painted = rgba[..., :3][solid if solid.any() else alpha > 0].astype(np.int16)
    spread = int((painted.max(axis=0) - painted.min(axis=0)).max())
    return alpha if spread <= MASK_UNIFORM_TOLERANCE else None


def _mask_values(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """255 = repaint. Drawn transparent layers use alpha; everything else uses luminance (transparent = 0)."""
    if not _has_alpha(image):
        return image.convert("L"), []
    rgba = image.convert("RGBA")
    alpha = _drawn_layer_alpha(np.asarray(rgba))
    if alpha is not None:
        return Image.fromarray(np.ascontiguousarray(alpha), "L"), ["mask taken from the painted layer's transparency"]
    on_black = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return on_black.convert("L"), []


def load_mask(
    source: ImageSource, size: tuple[int, int], *, limit: int = DEFAULT_MAX_PIXELS, keep_aspect: bool = False
) -> tuple[Image.Image, list[str]]:
    """Read an inpainting mask as mode "L" of exactly `size` (255 = repaint, soft edges kept); empty -> InputError.

    A mask of another size is resized, with a note. With keep_aspect, one whose shape (after EXIF rotation) is not a
    scaling of `size` is refused instead: stretched to fit, it would cover other pixels than the ones painted.
    """
    width, height = check_size_arg(size, "The mask size")
    decoded, notes, _, _ = _decode(source, "mask", _checked_limit(limit))
    if keep_aspect and not same_aspect(decoded.size, (width, height)):
        raise InputError(
            f"The mask is {size_text(decoded.size)} but the image is {size_text((width, height))}: a "
            "mask must have the image's shape (the same size, or a scaled copy, which is resized). "
            "Paint the mask on this image, or upload the mask made for it."
        )
    mask, value_notes = _mask_values(decoded)
    notes += value_notes
    if mask.size != (width, height):
        notes.append(f"mask was {mask.width}×{mask.height}, resized to match the image's {width}×{height}")
        mask = mask.resize((width, height), Image.Resampling.BILINEAR)
    if int(np.asarray(mask).max()) < MASK_EMPTY_BELOW:
        raise InputError("The mask is empty: paint (white) over the area to change.")
    return mask, notes
