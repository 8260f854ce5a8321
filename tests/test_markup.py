"""User text in Markdown (genart_demo/markup.py): every function that puts it there, fed hostile text, renders it
literally: no tag, link, image or emphasis comes out of it.

Rendered with markdown-it-py (CommonMark, raw HTML allowed as Gradio's Markdown allows it, GFM tables and
strikethrough): a tag that survived escaping would come out as a tag, a link as <a>, emphasis as <strong>/<em>.
"""

import html
import re

import pytest
from markdown_it import MarkdownIt

from genart_demo.markup import code_span, escape_markdown
from genart_demo.tasks.generate import GenerateResult
from genart_demo.ui.common import notes_markdown
from genart_demo.ui.generate import _notes
from leaderboard.arena.battles import Reveal
from leaderboard.arena.session_ui import created_markdown
from leaderboard.arena.store import RatingSession, Vote
from leaderboard.arena.ui import named_message
from leaderboard.arena.ui_common import prompt_markdown

HOSTILE = [
    "<img src=http://x/a.png>",
    "<form action=http://x/><input name=p></form>",
    "[a](javascript:alert(1))",
    "![i](http://x/a.png)",
    "**b**",
    "_c_ ~~d~~ `e`",
    "<http://x/auto> www.x.com a@b.co http://x/bare",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "line one\n<script>alert(1)</script>",
    "&lt;img src=x&gt; &amp;",
    "back\\slash \\*",
    "``two` ticks``",
]
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
FORBIDDEN = re.compile(r"<(img|form|input|script|a|strong|em|del|code|h\d|ul|ol|li|blockquote|table)\b")


def _vote(model_a: str, model_b: str, outcome: str) -> Vote:
    return Vote(1, "b1", 0.0, "r", outcome, "text-to-image", "named", model_a, model_b, "p", None, None)


def _session(name: str, prompt: str) -> RatingSession:
    return RatingSession("K7Q2MX4P", name, "text-to-image", ("sd15", "sd-turbo"), (prompt,), 2, 0, 0.0)


# (name, function of the hostile text -> Markdown, the elements its own formatting adds)
RENDERERS = [
    ("escape_markdown", lambda t: f"Title: {escape_markdown(t)}", set()),
    ("code_span", lambda t: f"Model {code_span(t)}", {"code"}),
    ("notes_markdown", lambda t: notes_markdown([f"skipped {t} (not an image)", t]), set()),
    ("arena reveal", lambda t: Reveal(_vote(t, "sd15", "a")).text(), {"strong", "code"}),
    ("arena named battle", lambda t: named_message(t, "sd15"), {"code"}),
    ("session prompt", lambda t: prompt_markdown(t), {"em"}),
    ("session created", lambda t: created_markdown(_session(t, "p")), {"strong", "code"}),
]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("render", [pytest.param(r[1:], id=r[0]) for r in RENDERERS])
def test_user_text_renders_literally(render, hostile):
    to_markdown, own = render
    rendered = RENDERER.render(to_markdown(hostile))
    made = {m.group(1) for m in FORBIDDEN.finditer(rendered)}
    assert made <= own, f"{sorted(made - own)} made from {hostile!r}: {rendered}"
    assert rendered.count("<code") <= (2 if "code" in own else 0)  # only the caller's own spans
    visible = _flat(html.unescape(re.sub(r"<[^>]+>", "", rendered)))
    assert _flat(hostile) in visible, f"{hostile!r} does not read as written in {visible!r}"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_generate_warnings_render_literally(studio, hostile):
    notes = _notes(studio, [GenerateResult([], [], [], [f'Prompt is 90 tokens. Dropped: "{hostile}"'])])
    rendered = RENDERER.render(notes)
    assert not FORBIDDEN.search(rendered), rendered
    assert _flat(hostile) in _flat(html.unescape(re.sub(r"<[^>]+>", "", rendered)))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_escaped_text_holds_no_raw_tag_or_link(hostile):
    out = escape_markdown(hostile)
    assert "<" not in out and ">" not in out and "\n" not in out
    assert "](" not in out.replace("\\]", "") and "**" not in out.replace("\\*", "")


def test_plain_text_is_left_as_it_is():
    assert escape_markdown("a red fox reading a newspaper, oil painting (2024)") == (
        "a red fox reading a newspaper, oil painting (2024)"
    )
    assert escape_markdown(None) == "" and code_span("sd-turbo") == "`sd-turbo`"


def test_the_reveal_reads_naturally():
    assert Reveal(_vote("sd15", "sd-turbo", "b")).text() == (
        "**A was `sd15`, B was `sd-turbo`.** Your vote for B (sd-turbo) is saved."
    )
    assert Reveal(_vote("sd15", "sd-turbo", "tie")).text().endswith("Your vote for a tie is saved.")
    assert Reveal(_vote("sd15", "sd-turbo", "bothbad")).text().endswith("Your vote that both are bad is saved.")
