"""HTML typed into the app is shown as text: a rating session's title, prompts and rater name come back escaped
through the API, and in the browser no remote image is fetched and no form is drawn."""

import http.server
import threading

import pytest
from gradio_client import Client

pytestmark = pytest.mark.server
MODELS = ["sd15", "sd-turbo"]  # tests/ui/conftest.py ARENA_MODELS


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


@pytest.fixture
def tripwire(servers):
    """(url, hits): a local web server that counts the requests it gets (a leaked <img> would be one)."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # http.server calls it by this name
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", servers.free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def _hostile(url: str) -> str:
    """A prompt with a remote image, a form asking for a password, and emphasis."""
    return f'<img src="{url}/leak.png"><form action="{url}/steal"><input name="password"></form> **bold**'


def _title(url: str) -> str:
    """The same in a session title's 60 characters."""
    return f'<img src="{url}/t.png"><form>**bold**'


def test_session_title_prompts_and_name_come_back_escaped(client, tripwire):
    url, _ = tripwire
    created, code = client.predict(
        _title(url),
        MODELS,
        f"{_hostile(url)} one\n[click](javascript:alert(1)) two",
        2,
        api_name="/arena_session_create",
    )
    assert code in created
    for raw in ("<img", "<form", "**bold**"):
        assert raw not in created, created
    assert '&lt;img src="http\\://127.0.0.1' in created and "\\*\\*bold\\*\\*" in created
    progress, _, _, prompt, *_ = client.predict(code, "<b>Ada</b>", api_name="/arena_session_join")
    assert "<img" not in progress and "&lt;img" in progress  # the join note names the session
    assert prompt.startswith("Prompt: *") and "<img" not in prompt and "[click](" not in prompt
    assert "&lt;img" in prompt or "\\[click\\](javascript\\:" in prompt  # whichever prompt came first


@pytest.mark.browser
def test_an_html_title_is_shown_as_text_and_fetches_nothing(page, app_server, tripwire):
    url, hits = tripwire
    page.goto(app_server[0])
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="Arena").click()
    page.get_by_role("tab", name="Organise a session").click()
    page.fill("#arena-org-name textarea", _title(url))
    page.fill("#arena-org-prompts textarea", f"{_hostile(url)} a kite\na door")
    page.click("#arena-org-create")
    page.wait_for_function(
        "() => document.querySelector('#arena-org-created').innerText.includes('created')", timeout=60_000
    )
    shown = page.inner_text("#arena-org-created")
    assert _title(url) in shown  # the title reads as typed
    assert page.locator("#arena-org-created img, #arena-org-created form, #arena-org-created input").count() == 0
    page.wait_for_timeout(500)
    assert hits == []  # no rater's browser asked the remote server for anything
