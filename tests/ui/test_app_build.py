"""Building the app from the one page table: twice in one process, with no model loaded and no torch imported; the
arena's service opened once, by the composition root, not by each build."""

import subprocess
import sys
from pathlib import Path

import gradio as gr

from genart_demo.pages import CORE_PAGES, all_pages, get_pages
from genart_demo.ui.app import build_app, close_services, open_services

ROOT = Path(__file__).resolve().parents[2]
TITLES = [
    "Generate",
    "Grid",
    "Translate",
    "Inpaint",
    "Super-resolve",
    "Video",
    "Evaluate",
    "PNG info",
    "Leaderboard",
    "Arena",
]


def tab_titles(app: gr.Blocks, pages) -> list[str]:
    return [b.label for b in app.blocks.values() if isinstance(b, gr.Tab) and b.id in [p.key for p in pages]]


def test_the_page_table_lists_every_tab_once():
    pages = all_pages()
    assert [p.title for p in pages] == TITLES  # core pages, then the leaderboard's through the genart.pages entry point
    assert [p.key for p in pages[: len(CORE_PAGES)]] == [p.key for p in CORE_PAGES]
    assert [p.key for p in pages if p.service] == ["arena"]


def test_build_twice_loads_nothing_and_opens_the_arena_once(studio, monkeypatch):
    from leaderboard.arena.battles import Arena

    opened = []
    real_open = Arena.open.__func__
    monkeypatch.setattr(Arena, "open", classmethod(lambda cls, s: opened.append(s) or real_open(cls, s)))
    pages = all_pages()
    services = open_services(studio, pages)
    loads = studio.cache.loads
    first, second = build_app(studio, pages, services), build_app(studio, pages, services)
    assert first is not second and len(opened) == 1 and isinstance(services["arena"], Arena)
    names = {d.api_name for d in second.fns.values() if d.api_name}
    assert {"generate", "compare", "leaderboard_gallery_drawbench", "arena_battle"} <= names
    assert tab_titles(second, pages) == TITLES
    assert studio.cache.loads == loads
    close_services(services)


def test_one_page_is_shown_without_tabs(studio):
    pages = get_pages(["generate"])
    app = build_app(studio, pages, {}, title="t2i", heading="# t2i")
    assert app.title == "t2i" and tab_titles(app, pages) == []
    assert {d.api_name for d in app.fns.values() if d.api_name} >= {"generate", "compare"}


def test_building_the_app_imports_no_torch(tmp_path):
    code = (
        "import os, sys; os.environ['GENART_OFFLINE']='1';"
        "from genart_demo.studio import Studio; from genart_demo.pages import all_pages;"
        "from genart_demo.ui.app import build_app, open_services;"
        "studio = Studio.create(); pages = all_pages(); build_app(studio, pages, open_services(studio, pages));"
        "print('torch' in sys.modules, 'diffusers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "GENART_OUTPUT_DIR": str(tmp_path)},
    )
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]
