"""LoRA uses as text: parse "source:weight, source2:weight", write it back, and read AUTOMATIC1111's <lora:...> tags.

Pure string work (no torch, no file reads but an existence check), so requests, the CLI, the UI, the metadata reader
and the grid's "LoRA weight" axis (with_weight) share one spelling. Loading lives in lora.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath

from .errors import InputError

# Weights people use sit in -2..2 (a negative weight inverts a "slider" LoRA); +-4 leaves room for a grid sweep while
# refusing a slip such as 70 for 0.7, which would only push every adapted layer into noise.
MIN_WEIGHT, MAX_WEIGHT = -4.0, 4.0
MAX_LORAS = 8  # adapters active at once; each one adds work to every adapted layer
SUFFIX = ".safetensors"  # the only LoRA format loaded: pickled .ckpt/.pt/.bin files can run code when read
_HUB_PART = re.compile(r"^[A-Za-z0-9][\w.-]*$")  # one segment of a Hub repo id (owner or name)
# AUTOMATIC1111's extra-network tag in a prompt: <lora:name>, <lora:name:0.7>, <lora:name:0.7:0.5> (te, unet).
_A1111_TAG = re.compile(r"<(?:lora|lyco):([^:>]+)(?::([^:>]*))?(?::[^>]*)?>", re.IGNORECASE)
ALLOWED = (
    "a local .safetensors file, a Hub repo id (owner/name) or a file in one (owner/name/file.safetensors), "
    "each optionally followed by :weight"
)


@dataclass(frozen=True)
class LoraUse:
    """One LoRA applied to a generation: where its weights come from and how strongly they apply."""

    source: str  # a local .safetensors path, a Hub repo id, or owner/name/<file>.safetensors
    weight: float = 1.0  # the adapter's scale, MIN_WEIGHT..MAX_WEIGHT (0 = off)

    @property
    def name(self) -> str:
        """The short name AUTOMATIC1111 gives a LoRA (its file stem; a Hub repo without a file: the repo name)."""
        path = PureWindowsPath(self.source) if "\\" in self.source else PurePath(self.source)
        return path.stem if path.suffix.lower() == SUFFIX else path.name

    def hub(self) -> tuple[str, str | None] | None:
        """(repo id, file in the repo or None) when the source names a Hub repo; None for a local file."""
        return hub_parts(self.source)


def hub_parts(source: str) -> tuple[str, str | None] | None:
    """(repo id, weight file or None) for a Hub source ("owner/name" or "owner/name/sub/file.safetensors"); None for
    what reads as a local path (it exists, is absolute, starts with . or ~, has a backslash, or is dir/file.safetensors)."""
    if Path(source).expanduser().exists() or source.startswith(("/", ".", "~")) or "\\" in source:
        return None
    if re.match(r"^[A-Za-z]:[\\/]", source):
        return None
    parts = source.split("/")
    if not all(_HUB_PART.match(p) for p in parts[:2]) or len(parts) < 2:
        return None
    if len(parts) == 2:
        return None if source.lower().endswith(SUFFIX) else (source, None)
    return ("/".join(parts[:2]), "/".join(parts[2:])) if source.lower().endswith(SUFFIX) else None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _split_weight(item: str) -> tuple[str, str | None]:
    """ "source:weight" -> (source, weight text). Split at the LAST ':' and only when what follows reads as a number,
    so C:\\loras\\x.safetensors or a repo path keep their own colons."""
    head, sep, tail = item.rpartition(":")
    if sep and head.strip() and _number(tail.strip()) is not None:
        return head.strip(), tail.strip()
    return item.strip(), None


def check_weight(weight: object, source: str = "") -> float:
    """`weight` as a float within MIN_WEIGHT..MAX_WEIGHT; InputError naming the LoRA otherwise."""
    of = f" for LoRA {source!r}" if source else ""
    try:
        value = float(weight)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(
            f"LoRA weight{of} must be a number from {MIN_WEIGHT:g} to {MAX_WEIGHT:g}; got {weight!r}."
        ) from None
    if not math.isfinite(value) or not MIN_WEIGHT <= value <= MAX_WEIGHT:
        raise InputError(f"LoRA weight{of} must be from {MIN_WEIGHT:g} to {MAX_WEIGHT:g}; got {weight!r}.")
    return value


def check_source(source: str) -> None:
    """Refuse a source that is neither a Hub reference nor an existing local .safetensors file, naming it."""
    if hub_parts(source) is not None:
        return
    path = Path(source).expanduser()
    if not path.suffix and not path.is_file():
        raise InputError(f"LoRA {source!r} is neither a Hub repo id nor a .safetensors file. Give {ALLOWED}.")
    if path.suffix.lower() != SUFFIX:
        raise InputError(
            f"LoRA file {source!r} is not a {SUFFIX} file: genart loads LoRA weights only from safetensors "
            "(pickled .ckpt, .pt and .bin files can run code when read)."
        )
    if not path.is_file():
        raise InputError(f"LoRA file {source!r} was not found (looked for {path.resolve()}).")


def parse_loras(text: str | None, *, check_files: bool = True) -> tuple[LoraUse, ...]:
    """The LoRA uses in "source:weight, source2:weight" (weight optional, 1.0 by default; empty text: none).
    `check_files` also refuses a local file that is missing or not .safetensors; without it only the text is read."""
    uses: list[LoraUse] = []
    for item in (text or "").split(","):
        if not item.strip():
            continue
        source, weight_text = _split_weight(item)
        if check_files:
            check_source(source)
        uses.append(LoraUse(source, 1.0 if weight_text is None else check_weight(weight_text, source)))
    sources = [u.source for u in uses]
    twice = sorted({s for s in sources if sources.count(s) > 1})
    if twice:
        raise InputError(f"LoRA {', '.join(map(repr, twice))} is listed twice: give each LoRA once, with one weight.")
    if len(uses) > MAX_LORAS:
        raise InputError(f"{len(uses)} LoRAs were given; at most {MAX_LORAS} apply at once.")
    return tuple(uses)


def weight_text(weight: float) -> str:
    """The shortest text that reads back as exactly `weight` (0.7, not 0.7000000000000001; 1, not 1.0)."""
    short = f"{weight:g}"
    return short if float(short) == weight else repr(float(weight))


def format_loras(uses: tuple[LoraUse, ...] | list[LoraUse]) -> str:
    """The text parse_loras reads back as `uses`: "source:weight, source2:weight"."""
    return ", ".join(f"{u.source}:{weight_text(u.weight)}" for u in uses)


def with_weight(text: str, weight: float) -> str:
    """`text` with every listed LoRA at `weight` (the grid's "LoRA weight" axis); files are not checked."""
    value = check_weight(weight)
    return format_loras([LoraUse(u.source, value) for u in parse_loras(text, check_files=False)])


def hashes_text(pairs: list[tuple[str, str]]) -> str:
    """AUTOMATIC1111's "Lora hashes" value: "name: hash, name2: hash" (name = the LoRA's short name)."""
    return ", ".join(f"{name}: {digest}" for name, digest in pairs)


def prompt_lora_tags(prompt: str) -> tuple[str, str]:
    """(the prompt without its <lora:name:weight> tags, those LoRAs as "name:weight" text) for a prompt written by
    AUTOMATIC1111, which reads the tags out of the prompt. A name is kept as written: an unknown file is then named
    when it is used, never guessed."""
    uses = []
    for match in _A1111_TAG.finditer(prompt):
        weight = _number((match.group(2) or "").strip())
        uses.append(f"{match.group(1).strip()}:{weight_text(1.0 if weight is None else weight)}")
    if not uses:
        return prompt, ""
    left = re.sub(r"[ \t]+(?=[,\n])|(?<=[ \t])[ \t]+", "", _A1111_TAG.sub("", prompt))
    return left.strip(" ,\t"), ", ".join(uses)
