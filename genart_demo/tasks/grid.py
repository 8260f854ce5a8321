"""The X/Y/Z grid task: one text-to-image request swept over 2 or 3 axes, each cell made by `generate`."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import InputError
from ..studio import Studio
from .common import ProgressFn, resolve_seed, workspace_for
from .generate import GenerateRequest, GenerateResult, checked_settings, generate
from .grid_axes import Axis, check_axes, kind_named
from .grid_image import Cell, draw_grid, save_grid_png
from .grid_shared import shared_prompt_encoding

CancelFn = Callable[[], bool]  # True once the grid should stop (checked between cells); a threading.Event's is_set


@dataclass(frozen=True)
class GridRequest:
    """A base request and 2 or 3 axes (X, Y, optional Z). Every cell is the base request with one value of each
    axis applied, made as one image (batch 1); a seed of -1 is drawn once for the whole grid."""

    request: GenerateRequest
    axes: tuple[Axis, ...]

    def model_ids(self) -> tuple[str, ...]:
        """One registry id per cell (ZeroGPU sizes the call from them); the base model where the axes do not parse."""
        try:
            return tuple(cell.request.model for cell in plan_cells(self))
        except InputError:
            return (self.request.model,)


@dataclass
class GridCell:
    index: Cell  # (x, y, z)
    label: str  # e.g. "Seed: 2 · Steps: 20"
    request: GenerateRequest  # what generate() is given (batch 1)
    result: GenerateResult | None = None  # None: not made (the grid was stopped first)


@dataclass
class GridResult:
    path: Path  # the grid picture (its GRID_KEY chunk names the axes and the cell files)
    image: Image.Image
    cells: list[GridCell]  # X fastest, then Y, then Z
    cancelled: bool = False
    encoder_calls: int = 0  # text encodings computed (the memo's misses)
    shared_encodings: int = 0  # text encodings reused from an earlier cell
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def made(self) -> list[GridCell]:
        return [c for c in self.cells if c.result is not None]


def plan_cells(req: GridRequest) -> list[GridCell]:
    """Every cell's request (X fastest, then Y, then Z), after checking the axes (not yet the settings)."""
    base = req.request
    points = check_axes(req.axes, base)
    base = replace(base, batch=1, seed=resolve_seed(base.seed))
    names = [kind_named(a.kind).name for a in req.axes]
    labels = [a.labels() for a in req.axes]
    if "seed" in names:
        at = names.index("seed")
        points[at] = [resolve_seed(s) for s in points[at]]
    cells = []
    ranges = [range(len(p)) for p in points] + [range(1)] * (3 - len(points))
    for z, y, x in itertools.product(*reversed(ranges)):
        one = base
        index = (x, y, z)
        for axis, name, i in zip(points, names, index):
            one = kind_named(name).apply(one, axis[i])
        label = " · ".join(lab[i] for lab, i in zip(labels, index))
        cells.append(GridCell(index, label, one))
    return cells


def _checked_steps(studio: Studio, cells: list[GridCell]) -> list[int]:
    """Each cell's denoising steps, after checking its settings as generate will (a bad cell is named)."""
    steps = []
    for cell in cells:
        try:
            steps.append(checked_settings(studio, cell.request).steps)
        except InputError as exc:
            raise InputError(f"Grid cell {cell.label}: {exc}") from None
    return steps


def _run_order(cells: list[GridCell]) -> list[int]:
    """Cell indices grouped by model, models in the order they first appear: each model is loaded once."""
    models = list(dict.fromkeys(c.request.model for c in cells))
    return sorted(range(len(cells)), key=lambda i: models.index(cells[i].request.model))


def _is_cancelled(cancel: CancelFn | Any | None) -> bool:
    if cancel is None:
        return False
    return bool(cancel.is_set() if hasattr(cancel, "is_set") else cancel())


def run_grid(
    studio: Studio,
    req: GridRequest,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelFn | Any | None = None,
    output_dir: Path | None = None,
) -> GridResult:
    """Make every cell with `generate` (each saved as its own PNG with its settings), grouped by model, then the grid
    picture with its legends. Every cell is checked before any runs. A prompt's text encoding is shared between the
    cells of one model. `progress` counts the steps of all cells; `cancel` is asked between cells, and a stopped grid
    keeps (and draws) the cells already made."""
    started = time.perf_counter()
    cells = plan_cells(req)
    steps = _checked_steps(studio, cells)
    total, done = sum(steps), 0
    calls = hits = 0
    cancelled = False
    order = _run_order(cells)
    for model, group in itertools.groupby(order, key=lambda i: cells[i].request.model):
        entry = studio.cache.get(studio.registry.get(model))
        with shared_prompt_encoding(entry) as memo:
            for i in group:
                if _is_cancelled(cancel):
                    cancelled = True
                    break
                cell, offset = cells[i], done

                def report(step: int, _total: int, desc: str, offset=offset, cell=cell) -> None:
                    if progress is not None:
                        progress(offset + step, total, f"{cell.label} · {desc}")

                if memo is not None:
                    memo.context = repr(getattr(cell.request, "loras", ()))
                cell.result = generate(studio, cell.request, progress=report, output_dir=output_dir)
                done += steps[i]
            if memo is not None:
                calls, hits = calls + memo.calls, hits + memo.hits
        if cancelled:
            break
    path, image = _save_grid(studio, req, cells, cancelled, output_dir)
    warnings = list(dict.fromkeys(w for c in cells if c.result for w in c.result.warnings))
    return GridResult(path, image, cells, cancelled, calls, hits, warnings, time.perf_counter() - started)


def _save_grid(
    studio: Studio, req: GridRequest, cells: list[GridCell], cancelled: bool, output_dir: Path | None
) -> tuple[Path, Image.Image]:
    """The grid picture, saved under outputs/grids/ with the axes and each cell's file in its GRID_KEY chunk."""
    labels = [a.labels() for a in req.axes] + [[""]] * (3 - len(req.axes))
    images = {c.index: (c.result.images[0] if c.result else None) for c in cells}
    image = draw_grid(images, *labels)
    metadata = {
        "axes": [
            {"kind": kind_named(a.kind).name, "values": a.values, "labels": lab} for a, lab in zip(req.axes, labels)
        ],
        "base": asdict(req.request),
        "cancelled": cancelled,
        "cells": [
            {"index": list(c.index), "label": c.label, "file": str(c.result.paths[0]) if c.result else None}
            for c in cells
        ],
    }
    path = save_grid_png(image, workspace_for(studio, output_dir).grid_path(), metadata)
    return path, image
