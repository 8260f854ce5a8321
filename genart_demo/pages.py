"""The studio's pages (its tabs): one table, which packages built on genart extend through an entry point.

`python app.py`, `genart serve` and every Space serve pages from this table. Each page names, as "module:attr"
(the form entry points use), the function that adds its components to the app being built and, where the page needs a
process-wide object (the arena's vote store), the function that opens that object once for the whole process. The
table imports no page module (and so no Gradio): the Space builder reads keys and titles without loading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import InputError

ENTRY_POINT_GROUP = "genart.pages"  # packages add pages here; each entry point names a Page


@dataclass(frozen=True)
class Page:
    """One tab of the studio."""

    key: str  # stable short name, e.g. "generate" (a Space names the page it shows by this key)
    title: str  # the tab's title, e.g. "Generate"
    builder: str  # "module:function": function(studio[, service]) adding the page's components to the app being built
    order: int  # tabs appear in increasing order
    service: str = ""  # "module:function": function(studio) -> the process-wide object passed to the builder
    sends: bool = False  # its builder takes the app's send-to links (ui.send_to.SendTargets) as keyword `sends`

    def build(self, studio: Any, service: Any = None, sends: Any = None) -> Any:
        """Add the page's components to the gr.Blocks being built (imports its module, and so Gradio, now); `sends`
        reaches only a page that takes it (None: a page shown alone, with no other tab to link to)."""
        build = EntryPoint(self.key, self.builder, ENTRY_POINT_GROUP).load()
        kwargs = {"sends": sends} if self.sends else {}
        return build(studio, service, **kwargs) if self.service else build(studio, **kwargs)

    def open_service(self, studio: Any) -> Any:
        """The process-wide object this page needs (None when it needs none); call once per process."""
        return EntryPoint(self.key, self.service, ENTRY_POINT_GROUP).load()(studio) if self.service else None


CORE_PAGES = (
    Page("generate", "Generate", "genart_demo.ui.generate:build_generate_ui", 10, sends=True),
    Page("grid", "Grid", "genart_demo.ui.grid:build_grid_ui", 15),
    Page("translate", "Translate", "genart_demo.ui.translate:build_translate_ui", 20, sends=True),
    Page("inpaint", "Inpaint", "genart_demo.ui.inpaint:build_inpaint_ui", 30, sends=True),
    Page("upscale", "Super-resolve", "genart_demo.ui.upscale:build_upscale_ui", 40, sends=True),
    Page("video", "Video", "genart_demo.ui.video:build_video_ui", 50, sends=True),
    Page("evaluate", "Evaluate", "genart_demo.ui.evaluate:build_evaluate_ui", 60),
    Page("png_info", "PNG info", "genart_demo.ui.png_info:build_png_info_ui", 65, sends=True),
)


def all_pages() -> tuple[Page, ...]:
    """genart's own pages and those registered under ENTRY_POINT_GROUP (the leaderboard's), in tab order; a key
    registered twice (an installed and a copied distribution of the same package) counts once."""
    pages = {page.key: page for page in CORE_PAGES}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        page = entry.load()
        if not isinstance(page, Page):
            raise TypeError(f"entry point {entry.name} = {entry.value} in {ENTRY_POINT_GROUP} is not a Page")
        pages.setdefault(page.key, page)
    return tuple(sorted(pages.values(), key=lambda p: p.order))


def get_pages(keys: tuple[str, ...] | list[str]) -> tuple[Page, ...]:
    """The pages with these keys, in tab order; an unknown key is refused with the keys there are."""
    pages = {page.key: page for page in all_pages()}
    unknown = [k for k in keys if k not in pages]
    if unknown:
        raise InputError(f"Unknown page {unknown[0]!r}. Pages: {', '.join(pages)}.")
    return tuple(p for p in pages.values() if p.key in keys)
