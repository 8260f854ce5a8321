"""The axis kinds of an X/Y/Z grid (one table: name, how values are read from text, how a value changes a request)."""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import InputError
from ..lora_spec import with_weight
from ..settings import MAX_GRID_CELLS

# "1-5", "1-5 (+2)", "10-4 (-3)", "1.5-3 (+0.5)": A1111's range forms (the step in brackets, 1 when left out)
_RANGE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*-\s*([+-]?\d+(?:\.\d+)?)\s*(?:\(\s*([+-]?\d+(?:\.\d+)?)\s*\))?\s*$")
_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def split_values(text: str) -> list[str]:
    """Comma-separated values, A1111's way: CSV, so a value holding a comma is written in double quotes."""
    row = next(csv.reader([text], skipinitialspace=True), [])
    return [value.strip() for value in row if value.strip()]


def _numbers(kind: str, text: str, whole: bool) -> list[Decimal]:
    """Numbers from "1, 2, 3" or ranges "1-5 (+2)" (both ends included); exact decimals, so 0.1 steps land."""
    values: list[Decimal] = []
    for item in split_values(text):
        found = _RANGE.match(item)
        try:
            if found is None:
                values.append(Decimal(item))
                continue
            start, stop = Decimal(found[1]), Decimal(found[2])
            step = Decimal(found[3]) if found[3] else Decimal(1 if stop >= start else -1)
        except InvalidOperation:
            raise InputError(
                f"{kind} value {item!r} is not a number: give numbers separated by commas, e.g. '1, 2, 3', "
                "or a range such as '1-5' or '1-9 (+2)'."
            ) from None
        if step == 0 or (stop - start) * step < 0:
            raise InputError(f"{kind} range {item!r} never reaches its end: its step must go from {start} to {stop}.")
        count = int((stop - start) / step) + 1
        if count > MAX_GRID_CELLS:
            raise InputError(f"{kind} range {item!r} has {count} values; a grid has at most {MAX_GRID_CELLS} cells.")
        values.extend(start + i * step for i in range(count))
    if whole and any(v != v.to_integral_value() for v in values):
        bad = next(v for v in values if v != v.to_integral_value())
        raise InputError(f"{kind} values must be whole numbers; got {bad}.")
    return values


def _whole(kind: str) -> Callable[[str], list[int]]:
    return lambda text: [int(v) for v in _numbers(kind, text, whole=True)]


def _real(kind: str) -> Callable[[str], list[float]]:
    return lambda text: [float(v) for v in _numbers(kind, text, whole=False)]


def _sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in split_values(text):
        found = _SIZE.match(item)
        if found is None:
            raise InputError(f"Size value {item!r} is not WIDTHxHEIGHT: write sizes such as '512x768, 768x512'.")
        sizes.append((int(found[1]), int(found[2])))
    return sizes


def _has_field(req: Any, name: str) -> bool:
    return name in {f.name for f in dataclasses.fields(req)}


def _prompt_replace(req: Any, pair: tuple[str, str]) -> Any:
    search, value = pair
    return replace(
        req, prompt=req.prompt.replace(search, value), negative_prompt=req.negative_prompt.replace(search, value)
    )


def _strength(req: Any, value: float) -> Any:
    if not _has_field(req, "strength"):
        raise InputError(
            f"A strength axis needs an image-to-image request (translate, inpaint); a {type(req).__name__} has no "
            "strength. Use steps, guidance, seed, sampler, size, model or prompt S/R."
        )
    return replace(req, strength=value)


def _lora_weight(req: Any, value: float) -> Any:
    if not _has_field(req, "loras") or not req.loras.strip():
        raise InputError(
            "A LoRA weight axis sets the weight of the request's LoRAs, and it lists none: add a LoRA "
            "('source:weight'), then sweep its weight."
        )
    return replace(req, loras=with_weight(req.loras, value))


@dataclass(frozen=True)
class AxisKind:
    """One kind of grid axis."""

    name: str  # what a user writes: "seed" in "seed: 1, 2, 3"
    label: str  # the legend's name for it, e.g. "Seed"
    parse: Callable[[str], list]  # its values from their text (InputError when they cannot be read)
    apply: Callable[[Any, Any], Any]  # (request, one value) -> the cell's request
    example: str  # values to show in help text


AXIS_KINDS: dict[str, AxisKind] = {
    k.name: k
    for k in (
        AxisKind("model", "Model", split_values, lambda r, v: replace(r, model=v), "sd15, sd21"),
        AxisKind("seed", "Seed", _whole("Seed"), lambda r, v: replace(r, seed=v), "1, 2, 3"),
        AxisKind("steps", "Steps", _whole("Steps"), lambda r, v: replace(r, steps=v), "10-30 (+10)"),
        AxisKind("guidance", "CFG", _real("Guidance"), lambda r, v: replace(r, guidance=v), "3, 5.5, 8"),
        AxisKind("sampler", "Sampler", split_values, lambda r, v: replace(r, scheduler=v), "Euler a, DPM++ 2M Karras"),
        AxisKind("prompt_sr", "Prompt S/R", split_values, _prompt_replace, "fox, cat, owl"),
        AxisKind("size", "Size", _sizes, lambda r, v: replace(r, width=v[0], height=v[1]), "512x512, 512x768"),
        AxisKind("strength", "Strength", _real("Strength"), _strength, "0.3, 0.5, 0.7"),
        AxisKind("lora_weight", "LoRA weight", _real("LoRA weight"), _lora_weight, "0, 0.5, 1"),
    )
}
KIND_ALIASES = {
    "lora": "lora_weight",
    "scheduler": "sampler",
    "cfg": "guidance",
    "prompt s/r": "prompt_sr",
    "prompt": "prompt_sr",
}


def kind_named(name: str) -> AxisKind:
    """The axis kind called `name` (case and aliases forgiven); InputError naming the kinds otherwise."""
    key = name.strip().lower().replace("-", "_")
    key = KIND_ALIASES.get(key, KIND_ALIASES.get(key.replace("_", " "), key))
    if key not in AXIS_KINDS:
        raise InputError(f"Unknown grid axis {name!r}: use one of {', '.join(AXIS_KINDS)}.")
    return AXIS_KINDS[key]


@dataclass(frozen=True)
class Axis:
    """One axis of a grid: its kind's name and the values it takes, as text (how a request and the CLI give it)."""

    kind: str
    values: str  # e.g. "1, 2, 3"; for prompt_sr the first value is the text searched for

    @classmethod
    def from_text(cls, text: str) -> Axis:
        """ "seed: 1, 2, 3" -> Axis("seed", "1, 2, 3")."""
        kind, colon, values = (text or "").partition(":")
        if not colon:
            raise InputError(f"Grid axis {text!r} needs a kind and values, e.g. 'seed: 1, 2, 3'.")
        return cls(kind.strip(), values.strip())

    def points(self) -> list[Any]:
        """The values each cell along this axis applies (prompt_sr: (search, replacement) pairs)."""
        kind = kind_named(self.kind)
        values = kind.parse(self.values)
        if not values:
            raise InputError(f"The {kind.name} axis has no values: give some, e.g. '{kind.name}: {kind.example}'.")
        if kind.name == "prompt_sr":
            return [(values[0], v) for v in values]
        return values

    def labels(self) -> list[str]:
        """The legend of each value, e.g. "Seed: 3"."""
        kind = kind_named(self.kind)
        shown = {"prompt_sr": lambda p: p[1], "size": lambda s: f"{s[0]}x{s[1]}"}.get(kind.name, str)
        return [f"{kind.label}: {shown(v)}" for v in self.points()]


def check_axes(axes: list[Axis] | tuple[Axis, ...], base: Any) -> list[list[Any]]:
    """The points of each axis of a grid, refused unless there are 2 or 3 axes of different kinds, at most
    MAX_GRID_CELLS cells, and any Prompt S/R search text occurs in the prompt or negative prompt."""
    if not 2 <= len(axes) <= 3:
        raise InputError(f"A grid has 2 or 3 axes (X, Y and optionally Z); got {len(axes)}.")
    names = [kind_named(a.kind).name for a in axes]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"Each grid axis must be of a different kind; {', '.join(repeated)} is given twice.")
    points = [a.points() for a in axes]
    cells = 1
    for p in points:
        cells *= len(p)
    if cells > MAX_GRID_CELLS:
        sizes = " x ".join(str(len(p)) for p in points)
        raise InputError(f"This grid has {sizes} = {cells} cells; at most {MAX_GRID_CELLS} are allowed.")
    for name, p in zip(names, points):
        if name == "prompt_sr" and p[0][0] not in base.prompt + "\n" + base.negative_prompt:
            raise InputError(
                f"Prompt S/R searches for {p[0][0]!r} (its first value), which is not in the prompt or the "
                "negative prompt: start the values with text the prompt contains."
            )
    return points
