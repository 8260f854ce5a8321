"""GenEval's correctness rules over detected boxes: which detections count, and the include/exclude, count, colour and
position checks of one metadata row.

The rules follow the authors' evaluator, djghosh13/geneval@af4902f evaluation/evaluate_images.py (`evaluate_image`
keeps detections, `evaluate` checks them, `relative_position` and `compute_iou` are the geometry); its command-line
defaults are GenevalOptions' defaults. Two things differ because our detector (OWLv2) gives boxes, not Mask2Former's
instance masks: a colour is read from the box crop itself (the authors paste the mask onto grey #999, then crop the
box), and each box carries the one class its best text query names (transformers' OWLv2 post-processing); the
authors' detector reports every COCO class, ours is asked only for the classes of the prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white")
# The colour classifier's prompts, {c} a colour: clip_benchmark averages their normalised text embeddings per colour.
COLOR_TEMPLATES = ("a photo of a {c} {name}", "a photo of a {c}-colored {name}", "a photo of a {c} object")


@dataclass(frozen=True)
class GenevalOptions:
    """The evaluator's thresholds (its `--options` keys in brackets), with the authors' defaults."""

    threshold: float = 0.3  # [threshold] keep a detection scoring above this...
    counting_threshold: float = 0.9  # [counting_threshold] ...or above this for prompts tagged "counting"
    max_objects: int = 16  # [max_objects] at most this many detections per class, best first
    max_overlap: float = 1.0  # [max_overlap] per-class NMS IoU; 1.0 turns NMS off (the default)
    position_threshold: float = 0.1  # [position_threshold] margin, as a fraction of both boxes' sizes


@dataclass(frozen=True)
class Detection:
    """One detected object: its box in pixels (x0, y0, x1, y1) and the detector's confidence."""

    box: tuple[float, float, float, float]
    score: float


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU with the authors' inclusive pixel areas ((x1 - x0 + 1) x (y1 - y0 + 1)); 0 when the union is empty."""

    def area(x0: float, y0: float, x1: float, y1: float) -> float:
        return max(x1 - x0 + 1, 0) * max(y1 - y0 + 1, 0)

    inter = area(max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    union = area(*a[:4]) + area(*b[:4]) - inter
    return inter / union if union else 0.0


def kept_detections(
    found: Mapping[str, Sequence[Detection]], tag: str, options: GenevalOptions = GenevalOptions()
) -> dict[str, list[Detection]]:
    """Per class: detections above the (tag's) threshold, best first, at most max_objects, then greedy NMS.

    Classes left with nothing are absent, as in the authors' `detected` dict."""
    threshold = options.counting_threshold if tag == "counting" else options.threshold
    kept: dict[str, list[Detection]] = {}
    for name, dets in found.items():
        order = sorted((d for d in dets if d.score > threshold), key=lambda d: -d.score)[: options.max_objects]
        chosen: list[Detection] = []
        while order:
            best = order.pop(0)
            chosen.append(best)
            if options.max_overlap < 1:
                order = [d for d in order if box_iou(best.box, d.box) < options.max_overlap]
        if chosen:
            kept[name] = chosen
    return kept


def relative_position(a: Sequence[float], b: Sequence[float], margin: float) -> set[str]:
    """Where box a lies relative to box b: a subset of {"left of", "right of", "above", "below"}.

    The centre offset shrinks by margin x (a's size + b's size) per axis (never past 0); a relation holds when that
    shrunk offset, divided by the full offset's length, is beyond 0.5 on its axis (image y grows downwards)."""
    boxes = np.array([a[:4], b[:4]], dtype=np.float64).reshape(2, 2, 2)  # (object, corner, xy)
    centre_a, centre_b = boxes.mean(axis=1)
    size_a, size_b = np.abs(boxes[:, 1] - boxes[:, 0])
    offset = centre_a - centre_b
    revised = np.maximum(np.abs(offset) - margin * (size_a + size_b), 0) * np.sign(offset)
    if np.all(np.abs(revised) < 1e-3):
        return set()
    dx, dy = revised / np.linalg.norm(offset)
    relations = set()
    if dx < -0.5:
        relations.add("left of")
    if dx > 0.5:
        relations.add("right of")
    if dy < -0.5:
        relations.add("above")
    if dy > 0.5:
        relations.add("below")
    return relations


# (class name, its detections to classify) -> one colour of COLORS per detection
ColorClassifier = Callable[[str, Sequence[Detection]], list[str]]


def _color_reason(req: Mapping, colors: list[str]) -> str | None:
    want, name, count = req["color"], req["class"], req["count"]
    if colors.count(want) >= count:
        return None
    seen = ", ".join(f"{colors.count(c)} {c}" for c in COLORS if c in colors)
    return f"expected {want} {name}>={count}, found {colors.count(want)} {want}; and {seen}"


def _position_reason(
    req: Mapping, found: list[Detection], targets: list[Detection] | None, margin: float
) -> str | None:
    expected, _ = req["position"]
    if targets is None:
        return f"no target for {req['class']} to be {expected}"
    for obj in found:
        for target in targets:
            actual = relative_position(obj.box, target.box, margin)
            if expected not in actual:
                return f"expected {req['class']} {expected} target, found {' and '.join(sorted(actual))} target"
    return None


def check_row(
    row: Mapping,
    kept: Mapping[str, list[Detection]],
    classify: ColorClassifier,
    options: GenevalOptions = GenevalOptions(),
) -> tuple[bool, list[str]]:
    """(all checks pass, why each failed) for one metadata row over kept detections.

    `include` clauses must all hold: at least `count` of the class; then (on its `count` best detections) `color`
    for each of them, and `position` [relation, i] against every detection matched by include clause i. Any
    `exclude` clause holding (`count` or more of the class) fails the row."""
    reasons: list[str] = []
    matched: list[list[Detection] | None] = []
    for req in row.get("include", []):
        found = kept.get(req["class"], [])[: req["count"]]
        reason = None
        if len(found) < req["count"]:
            reason = f"expected {req['class']}>={req['count']}, found {len(found)}"
        elif "color" in req:
            reason = _color_reason(req, classify(req["class"], found))
        if reason is None and "position" in req:
            reason = _position_reason(req, found, matched[req["position"][1]], options.position_threshold)
        if reason is not None:
            reasons.append(reason)
        matched.append(found if reason is None else None)
    for req in row.get("exclude", []):
        found = kept.get(req["class"], [])
        if len(found) >= req["count"]:
            reasons.append(f"expected {req['class']}<{req['count']}, found {len(found)}")
    return not reasons, reasons


def row_classes(row: Mapping) -> list[str]:
    """The COCO class names a row's include and exclude clauses name, in order, each once."""
    return list(dict.fromkeys(req["class"] for key in ("include", "exclude") for req in row.get(key, [])))


__all__ = [
    "COLORS",
    "COLOR_TEMPLATES",
    "ColorClassifier",
    "Detection",
    "GenevalOptions",
    "box_iou",
    "check_row",
    "kept_detections",
    "relative_position",
    "row_classes",
]
