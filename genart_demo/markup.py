"""User text placed into Markdown that a browser renders: escaped so it reads literally and renders nothing.

Gradio's Markdown (and a Dataframe column of datatype "markdown") turns Markdown into HTML and lets harmless-looking
tags through: a session title `<img src=http://host/x.png>` made every rater's browser fetch that address, and a
`<form>` drew a fake form. Every piece of user-supplied text (session titles, prompts, rater names, model ids, file
names in notes) goes through `escape_markdown` or `code_span` here, the one place that knows how, before it is joined
into Markdown. Components that show their value as plain text (Textbox, Dropdown, Gallery captions, Dataframe
cells of the default "str" type) escape it themselves and must get the raw text, or they would show the backslashes.
"""

from __future__ import annotations

import re

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}  # written as entities, so no tag or autolink can open
# Markdown's inline syntax: code, emphasis, strikethrough, links and images, headings, table cells, maths, and
# the ':' / '@' that make bare URLs and e-mail addresses links. CommonMark lets any of these be backslash-escaped.
_ESCAPED = set("\\`*_~[]!#|$:@")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_WWW = re.compile(r"(?i)\b(www)\.")  # "www.host" becomes a link too
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # what can open an HTML tag or comment
_LEADING_MARKER = re.compile(r"^(\s*(?:\d{1,9}(?=[.)])|(?=[-+])))(.)")  # "- x", "+ x", "1. x", "1) x" start a list


def escape_markdown(text: object) -> str:
    """`text` (anything; None is "") as inline Markdown that renders exactly as written: HTML tags, links, images,
    emphasis, code and list markers are escaped, and line breaks become spaces (a title or prompt is one line)."""
    flat = _LINE_BREAK.sub(" ", "" if text is None else str(text))
    out = "".join(_ENTITIES.get(c) or ("\\" + c if c in _ESCAPED else c) for c in flat)
    out = _WWW.sub(r"\1\\.", out)
    return _LEADING_MARKER.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", out, count=1)


def code_span(text: object) -> str:
    """`text` as an inline code span (`sd-turbo`) that no backtick inside it can close early; HTML inside a code
    span is shown as text by Markdown itself."""
    flat = _LINE_BREAK.sub(" ", "" if text is None else str(text))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


__all__ = ["code_span", "escape_markdown"]


def without_tags(message: str) -> str:
    """`message` (an error popup's text, which Gradio renders as HTML) with every `<` that could open a tag or
    comment written as `&lt;`: a refused value echoed back (`<img src=…>`) shows as text, while `0 <= low < high`
    reads as it is, also to API clients, which get the message verbatim."""
    return _TAG_START.sub("&lt;", message)
