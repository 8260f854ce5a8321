"""One way to serve: `genart serve` and `python app.py` serve the same tabs, from the one page table."""

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from genart_demo.pages import all_pages

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[2]


def served_tabs(url: str) -> list[str]:
    """The titles of the top-level tabs the running app's config describes (the pages' tabs, by their ids)."""
    config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
    keys = {p.key for p in all_pages()}
    return [
        c["props"]["label"] for c in config["components"] if c.get("type") == "tabitem" and c["props"].get("id") in keys
    ]


def test_genart_serve_shows_every_tab_as_app_py_does(servers, cache_dir, tmp_path, app_server):
    port = servers.free_port()
    env = {
        **os.environ,
        "GENART_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "GENART_CACHE_DIR": str(cache_dir),
        "GENART_OUTPUT_DIR": str(tmp_path / "out"),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    genart = Path(sys.executable).with_name("genart")
    proc, url = servers.start([str(genart), "serve", "--port", str(port)], port, tmp_path / "serve.log", env=env)
    try:
        tabs = served_tabs(url)
        assert tabs == [p.title for p in all_pages()]
        assert tabs == [
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
        assert served_tabs(app_server[0]) == tabs  # `python app.py`
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert "Coming soon" not in page and "Coming soon" not in json.dumps(
            json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
        )
    finally:
        servers.stop(proc)
