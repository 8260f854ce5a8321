"""A prompt's categories: hashtags ending a session prompt line, else its category in DrawBench or PartiPrompts."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from genart_demo.errors import InputError

from ..prompts import load_prompt_set, prompt_set_names

TAG_CHARS = 40  # longest tag, without its '#'
MAX_TAGS = 10  # tags on one prompt line
TAG = re.compile(r"\w[\w-]*")  # a tag after its '#': letters, digits, '_' and '-', starting with a letter or digit
TRAILING_TAGS = re.compile(r"(?:^|\s)(#\S*(?:\s+#\S*)*)$")  # the words starting with '#' that end a line
TAG_RULE = f"# then letters, digits, '-' or '_' (at most {TAG_CHARS} characters), e.g. #animals"


def split_tags(line: str, number: int = 1) -> tuple[str, tuple[str, ...]]:
    """("a red fox reading", ("animals", "style")) from "a red fox reading #animals #style": the words at the end
    of the line that start with '#' are its tags (a '#' elsewhere, as in "C# code", is part of the prompt).
    `number` is the line's number in what the organiser typed, for the messages."""
    prompt = str(line or "").strip()
    found = TRAILING_TAGS.search(prompt)
    words = found.group(1).split() if found else []
    tags = tuple(dict.fromkeys(_tag(word, number) for word in words))
    prompt = prompt[: found.start()].rstrip() if found else prompt
    if tags and not prompt:
        raise InputError(f"Prompt line {number} has tags but no prompt: write the prompt first, then its #tags.")
    if len(tags) > MAX_TAGS:
        raise InputError(f"Prompt line {number} has {len(tags)} tags; at most {MAX_TAGS}.")
    return prompt, tags


def _tag(word: str, number: int) -> str:
    tag = word[1:]
    if not tag:
        raise InputError(f"Prompt line {number} has an empty tag '#'; a tag is {TAG_RULE}.")
    if not TAG.fullmatch(tag) or len(tag) > TAG_CHARS:
        shown = word if len(word) <= TAG_CHARS + 10 else word[: TAG_CHARS + 10] + "…"
        raise InputError(f"Prompt line {number}: {shown!r} is not a tag; a tag is {TAG_RULE}.")
    return tag


def tagged_prompts(lines: Sequence[str]) -> tuple[list[str], tuple[tuple[str, ...], ...] | None]:
    """(prompts, their tags) from an organiser's lines, blank lines skipped; tags is None when no line has any
    (RatingSession.tags). The prompts are not yet checked (battles.check_prompt does that)."""
    split = [split_tags(line, n) for n, line in enumerate(lines, start=1) if str(line or "").strip()]
    prompts = [prompt for prompt, _ in split]
    tags = tuple(t for _, t in split)
    return prompts, (tags if any(tags) else None)


@functools.cache
def benchmark_categories() -> dict[str, tuple[str, ...]]:
    """Exact prompt text -> its categories (skills) in every bundled prompt set (read once per process):
    typed prompts that are benchmark prompts, and battles from leaderboard runs, get categories this way."""
    found: dict[str, tuple[str, ...]] = {}
    for name in prompt_set_names():
        for item in load_prompt_set(name).items:
            found[item.text] = tuple(dict.fromkeys((*found.get(item.text, ()), item.category)))
    return found


def vote_categories(tags: Sequence[str] | None, prompt: str) -> tuple[str, ...]:
    """A vote's categories: the tags it was stored with, else its prompt's benchmark categories, else none."""
    return tuple(tags) if tags else benchmark_categories().get(str(prompt), ())
