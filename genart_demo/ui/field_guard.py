"""Every value an endpoint receives is checked against the field it is for before Gradio reads it.

Gradio's own preprocessing fails on many malformed values (text or NaN in a number field, a list for a choice, a
number for an upload) with an exception that reaches the caller as an *empty* error and the log as a traceback.
`StudioBlocks` checks each raw value first and refuses a bad one with a message that names the field (its label)
and says what is allowed. Every refusal, these and the tasks' own, is one INFO line in the log; only a real fault
logs a traceback (once, from `common.guarded`). Messages shown to the user never carry an HTML tag: a refused value
echoed back (a prompt holding `<img src=…>`) is shown as text, not rendered in the error popup.
"""

from __future__ import annotations

import inspect
import logging
import math
from typing import Any

import gradio as gr
from gradio.exceptions import Error
from pydantic import ValidationError

from ..fields import unencodable_at
from ..markup import without_tags
from .common import FAULT_TITLE

log = logging.getLogger("genart.ui")
MAX_TEXT_CHARS = 100_000  # any text field without a tighter limit of its own; prompts are limited further by tasks
_SHOWN_CHOICES = 8  # a refused choice lists this many allowed ones, then how many there are in all


def describe(value: Any) -> str:
    """A short, safe description of a received value for a message (never a 5,000-digit number or a whole page)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        digits = math.floor(math.log10(abs(value))) + 1 if value else 1  # str() refuses over 4,300 digits
        return f"a {digits:,}-digit number" if digits > 20 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "infinity" if value > 0 else "-infinity"
        return f"{value:g}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"text {shown!r}" + (f" ({len(value):,} characters)" if len(value) > 40 else "")
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _text_problem(value: Any, limit: int | None) -> str | None:
    if not isinstance(value, str):
        return f"must be text; got {describe(value)}"
    if (at := unencodable_at(value)) is not None:
        return (
            f"holds a character that is not valid text (a lone surrogate at position {at}): retype or paste "
            "it again as plain text"
        )
    limit = limit or MAX_TEXT_CHARS
    if len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit:,} are allowed"
    return None


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _bounds(block: Any) -> str:
    low, high = getattr(block, "minimum", None), getattr(block, "maximum", None)
    if low is not None and high is not None:
        return f" from {_number(low)} to {_number(high)}"
    if low is not None:
        return f" of at least {_number(low)}"
    return f" of at most {_number(high)}" if high is not None else ""


def _number_problem(block: Any, value: Any) -> str | None:
    if value is None and isinstance(block, gr.Number):
        return None  # an empty number box: the handler uses the field's default
    whole = isinstance(block, gr.Number) and block.precision == 0
    wanted = f"must be a {'whole ' if whole else ''}number{_bounds(block)}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{wanted}; got {describe(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{wanted}; got {describe(value)}"
    low, high = getattr(block, "minimum", None), getattr(block, "maximum", None)
    if (low is not None and value < low) or (high is not None and value > high):
        return f"{wanted}; got {describe(value)}"
    if whole and isinstance(value, float) and not value.is_integer():
        return f"{wanted}; got {describe(value)}"
    return None


def _choice_values(block: Any) -> list[Any]:
    return [c[1] if isinstance(c, (tuple, list)) else c for c in (block.choices or [])]


def _not_a_choice(value: Any, choices: list[Any]) -> str:
    shown = ", ".join(repr(c) for c in choices[:_SHOWN_CHOICES])
    more = f", … ({len(choices)} in all)" if len(choices) > _SHOWN_CHOICES else ""
    return f"is {describe(value)}, which is not in the list of choices: [{shown}{more}]"


def _one_choice_problem(block: Any, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"must be one of its choices; got {describe(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be one of its choices; got {describe(value)}"
    if isinstance(value, str) and (problem := _text_problem(value, None)):
        return problem
    if getattr(block, "allow_custom_value", False):
        return None
    choices = _choice_values(block)
    return None if value in choices else _not_a_choice(value, choices)


def _choices_problem(block: Any, value: Any) -> str | None:
    if not isinstance(value, list):
        return f"must be a list of its choices; got {describe(value)}"
    for item in value:
        if problem := _one_choice_problem(block, item):
            return problem
    return None


def _file_problem(block: Any, value: Any) -> str | None:
    if value is None:
        return None
    try:
        block.data_model.model_validate(value)
    except (ValidationError, TypeError, ValueError):
        kind = "an uploaded file (or a list of them)" if isinstance(block, gr.File) else "an uploaded image"
        return f"must be {kind}; got {describe(value)}"
    return None


def field_problem(block: Any, value: Any) -> str | None:
    """What is wrong with `value` received for the input component `block`, or None when Gradio can read it."""
    if isinstance(block, (gr.Slider, gr.Number)):
        return _number_problem(block, value)
    if isinstance(block, gr.Checkbox):
        return None if isinstance(value, bool) or value is None else f"must be true or false; got {describe(value)}"
    if isinstance(block, gr.CheckboxGroup) or (isinstance(block, gr.Dropdown) and block.multiselect):
        return None if value is None else _choices_problem(block, value)
    if isinstance(block, (gr.Dropdown, gr.Radio)):
        return None if value is None else _one_choice_problem(block, value)
    if isinstance(block, gr.Textbox):
        return None if value is None else _text_problem(value, block.max_length)
    if isinstance(block, gr.Dataset):
        count = len(block.raw_samples or [])
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count
        return (
            None if ok or value is None else f"must be an example's index from 0 to {count - 1}; got {describe(value)}"
        )
    if getattr(block, "data_model", None) is not None:
        return _file_problem(block, value)
    return None


def field_names(block_fn: Any) -> list[str]:
    """What each input of an event is called in messages: its label, else the handler's parameter name."""
    try:
        params = [p.name for p in inspect.signature(block_fn.fn).parameters.values()]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, block in enumerate(block_fn.inputs):
        label = getattr(block, "label", None)
        names.append(str(label) if label else (params[i] if i < len(params) else f"input {i + 1}"))
    return names


def check_inputs(block_fn: Any, inputs: list[Any], state: Any) -> None:
    """Refuse (gr.Error naming the field) the first value in `inputs` its component cannot take."""
    if not isinstance(inputs, list) or len(inputs) < len(block_fn.inputs):
        raise gr.Error(
            f"This action takes {len(block_fn.inputs)} values; got {describe(inputs)}.", print_exception=False
        )
    for i, block in enumerate(block_fn.inputs):
        if getattr(block, "stateful", False) or i in block_fn.component_prop_inputs:
            continue
        if state is not None and block._id in state:
            block = state[block._id]  # a component whose choices or bounds an earlier event changed
        problem = field_problem(block, inputs[i])
        if problem:
            raise gr.Error(f"“{field_names(block_fn)[i]}” {problem}.", duration=None, print_exception=False)


class StudioBlocks(gr.Blocks):
    """gr.Blocks whose events check every received value first and log refusals as one INFO line each."""

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        check_inputs(block_fn, inputs, state)
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except Error:
            raise
        except Exception as exc:  # a value the checks above let through and Gradio could not read
            log.warning("an input of %s could not be read: %s: %s", block_fn.name, type(exc).__name__, exc)
            raise gr.Error(f"An input could not be read: {exc}", duration=None, print_exception=False) from exc

    async def process_api(self, block_fn, inputs, *args, **kwargs):
        try:
            return await super().process_api(block_fn, inputs, *args, **kwargs)
        except Error as exc:
            exc.message = without_tags(str(exc.message))
            exc.print_exception = False
            if exc.title != FAULT_TITLE:  # a fault was logged whole where it happened
                log.info("refused %s: %s", getattr(block_fn, "name", block_fn), exc.message.replace("\n", " ")[:500])
            raise
