"""Known noise from diffusers and transformers, silenced in one place for the CLI and the app: log lines a genart
user can do nothing about. Each entry says why it is noise; anything not listed still gets through."""

from __future__ import annotations

import logging
import re

# The logger that emits each noisy line -> patterns (matched at the start of the message) of the lines it emits that
# are noise. A filter on the emitting logger sees only that logger's own records, so each is named exactly.
NOISY_LOG_LINES: dict[str, tuple[str, ...]] = {
    "diffusers.pipelines.pipeline_utils": (
        # DiT's class-label map comes from JSON (string keys); diffusers' loose type check calls that a mismatch.
        r"Expected types for id2label: ",
        # A maintenance notice for whoever picks the pipeline class, and the registry has picked it on purpose.
        r"The \w+ has been deprecated and will not receive bug fixes",
    ),
    "diffusers.models.modeling_utils": (
        # Printed on every dtype cast of some models (UNetMotionModel) even when no module needs float32: `[]`.
        r"There are modules in \w+ that should be kept in float32: \[\]\.",
    ),
    "diffusers.configuration_utils": (
        # The real repos' scheduler configs carry keys of older diffusers versions (timestep_values, timesteps).
        r"The config attributes \{.*\} were passed to \w+Scheduler, but are not expected and will be ignored",
    ),
    "transformers.configuration_utils": (
        # diffusers' own LDMBert (ldm-text2im) reads the deprecated attribute, not genart.
        r"`use_return_dict` is deprecated!",
    ),
}


class _DropKnownNoise(logging.Filter):
    """Drops the records whose message matches one of `patterns`."""

    def __init__(self, patterns: tuple[str, ...]):
        super().__init__()
        self.patterns = [re.compile(p) for p in patterns]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(p.match(message) for p in self.patterns)


_FILTERS = {name: _DropKnownNoise(patterns) for name, patterns in NOISY_LOG_LINES.items()}


def silence_library_noise() -> None:
    """Drop the known-noise lines of NOISY_LOG_LINES, before or after the libraries are imported (their loggers are
    the standard library's, found by name). Calling it again changes nothing."""
    for name, noise in _FILTERS.items():
        logging.getLogger(name).addFilter(noise)  # addFilter keeps one copy of the same filter
