"""The Leaderboard tab's agreement section in Debian chromium, on an app whose arena store holds planted votes."""

import pytest
from arena_planted import grey_images, plant_arena  # tests/leaderboard/arena/arena_planted.py

from genart_demo.workspace import Workspace
from leaderboard.arena.store import ArenaStore
from tests.ui.conftest import start_app

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def url(servers, tmp_path_factory, cache_dir):
    """An app of its own whose store holds 60 honest votes on grey images and 20 of a rater who always picks A."""
    out = tmp_path_factory.mktemp("agreement-page")
    workspace = Workspace(out, cache_dir)
    workspace.arena.mkdir(mode=0o700, parents=True)
    store = ArenaStore(f"sqlite:///{workspace.arena_db}")
    plant_arena(store, images=grey_images(out))
    store.close()
    proc, url = start_app(servers, out, cache_dir, out / "app.log")
    yield url
    servers.stop(proc)


def test_the_button_shows_each_metrics_agreement_with_the_counted_votes(page, url, artifacts):
    page.goto(url)
    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_text("Which metric agrees with your raters").click()
    page.click("#lb-agreement-run")
    table = "document.querySelector('#lb-agreement-table')"
    page.wait_for_function(f"() => {table}.innerText.includes('Brightness (higher wins)')", timeout=120_000)
    page.screenshot(path=str(artifacts / "leaderboard-agreement.png"), full_page=True)
    text = page.locator("#lb-agreement-table").inner_text()
    cells = text.split("\n")  # one cell a line, rows one after another
    bright = cells[cells.index("Brightness (higher wins)") :][:9]  # label, source, agreement, CI, n, ties, missing
    assert bright[1] == "arena" and bright[5] == "60" and bright[7:] == ["0", "0"]  # the always-A rater left out
    assert "CLIPScore" in text and "Saturation (higher wins)" in text  # the default choice
    assert "FID, KID and CMMD are left out" in page.locator("#lb-agreement-notes").inner_text()
