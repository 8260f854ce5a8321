"""What the `genart` commands share: options made from the task request dataclasses (each field, its default and
its help declared once), the studio a command runs on, and a progress line."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any

from .fields import allowed_types
from .settings import Settings
from .studio import Studio

# Fields whose value is a file: given on the command line as a path.
_PATH_METAVAR = "FILE"


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_request_options(
    parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = (), required: tuple[str, ...] = ()
) -> None:
    """One option per field of the request dataclass `cls` (except `skip`): `--negative-prompt` for
    negative_prompt, typed by the field's annotation, with its default and the help its metadata gives. Fields
    without a default, and those in `required`, must be given."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        extra = dict(field.metadata)
        kwargs: dict[str, Any] = {"help": extra.pop("help", ""), "dest": field.name}
        options = allowed_types(hints[field.name])
        has_default = field.default is not dataclasses.MISSING
        if bool in options:
            kwargs.update(action="store_true", default=False)
        else:
            kind = options[0] if len(options) == 1 else str  # e.g. str | int: given as text, the task reads it
            origin = typing.get_origin(kind)
            if origin is tuple:
                item = typing.get_args(kind)[0]
                kwargs.update(type=item, nargs=len(typing.get_args(kind)))
            elif kind in (int, float, str):
                kwargs["type"] = kind
            else:  # Any: an image or other file, given by path
                kwargs.update(type=str, metavar=_PATH_METAVAR)
            if has_default:
                kwargs["default"] = list(field.default) if isinstance(field.default, tuple) else field.default
            kwargs["required"] = not has_default or field.name in required
        kwargs.update(extra)
        if kwargs.get("default") is not None and kwargs.get("action") != "store_true" and kwargs["help"]:
            kwargs["help"] += " (default: %(default)s)"
        parser.add_argument(_flag(field.name), **kwargs)


def request_from_args(cls: type, args: argparse.Namespace, **fixed: Any):
    """The request `cls` from parsed options (fields absent from `args` keep their defaults), plus `fixed`."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    for f in dataclasses.fields(cls):
        if isinstance(f.default, tuple) and isinstance(values.get(f.name), list):
            values[f.name] = tuple(values[f.name])
    return cls(**{**values, **fixed})


def studio_for(args: argparse.Namespace, **settings: Any) -> Studio:
    """The studio of the environment's settings (with `settings` overrides), its outputs in --out when given; it
    says on stderr where outputs come from."""
    if getattr(args, "out", None):
        settings["output_dir"] = Path(args.out)
    studio = Studio.create(dataclasses.replace(Settings.from_env(), **settings))
    print(studio.notice, file=sys.stderr)
    return studio


def one_thread_for_standin(studio: Studio, model_id: str) -> None:
    """Run `model_id` on one CPU thread where it runs as its stand-in on the CPU. A stand-in's tensors are tiny, so a
    second thread has nothing to gain and much to lose: on a busy 2-core machine every OpenMP region waits for the
    other thread to be scheduled (one 64 px step of the SD 1.5 stand-in: 2.4-5 s on two threads, 0.1 s on one). A
    real model keeps every thread. The CLI runs one model per process, so this process-wide setting is its own."""
    if model_id in studio.registry and studio.runs_standin(model_id) and studio.cache.device == "cpu":
        import torch  # lazy: torch takes seconds to import; only a command that runs a model needs it

        torch.set_num_threads(1)


def progress_line(done: int, total: int, desc: str) -> None:
    """A task progress callback drawing one line on stderr."""
    print(f"\r{desc} {done}/{total}", end="\n" if done >= total else "", file=sys.stderr, flush=True)
