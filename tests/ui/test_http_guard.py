"""The launched app answers every Range header on a served file without a server error, and keeps Gradio's monitoring
pages closed unless GENART_MONITORING=1 (they showed per-endpoint counts to anyone)."""

import http.client
import urllib.parse

import pytest

from genart_demo.settings import Settings
from genart_demo.ui.http_guard import is_one_range

BODY = b"0123456789"
# Range values the file route answered with HTTP 500 (several ranges; a digit str.isnumeric() accepts but int()
# refuses), a wrong byte (a reversed range) or 400 (another unit, which RFC 9110 says to ignore; garbage)
UNANSWERABLE = ["bytes=0-0,2-2", "bytes=0-1, 4-5", "bytes=\xb2-3", "bytes=5-2", "items=0-1", "bytes=a-b", "bytes=-"]
ONE_RANGE = {
    "bytes=2-4": (b"234", "bytes 2-4/10"),
    "bytes=7-": (b"789", "bytes 7-9/10"),
    "bytes=-3": (b"789", "bytes 7-9/10"),
}


def get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """GET `path` with `headers` sent byte for byte (latin-1), as any client could."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("GET", path)
        for name, value in (headers or {}).items():
            conn.putheader(name, value.encode("latin-1"))
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("value", "one"), [(v, True) for v in [*ONE_RANGE, " bytes=0-0 ", "bytes=4-4"]] + [(v, False) for v in UNANSWERABLE]
)
def test_only_one_well_formed_range_is_let_through(value, one):
    assert is_one_range(value.encode("latin-1")) is one


def test_monitoring_is_a_setting_and_off_by_default():
    assert Settings.from_env({}).launch_options()["enable_monitoring"] is False
    assert Settings.from_env({"GENART_MONITORING": "1"}).launch_options()["enable_monitoring"] is True


@pytest.fixture(scope="module")
def served(app_server):
    """(app url, the URL path of a 10-byte file in the output folder, which the app serves)."""
    url, out, _ = app_server
    path = out / "range-probe.txt"
    path.write_bytes(BODY)
    yield url, f"/gradio_api/file={path}"
    path.unlink()


@pytest.mark.server
@pytest.mark.parametrize("value", UNANSWERABLE)
def test_a_range_gradio_cannot_answer_gets_the_whole_file(served, value):
    """Regression: "Range: bytes=0-0,2-2" on any served file gave HTTP 500. RFC 9110 lets a server ignore Range."""
    status, body, _ = get(*served, {"Range": value})
    assert (status, body) == (200, BODY)


@pytest.mark.server
@pytest.mark.parametrize("value", ONE_RANGE)
def test_one_range_still_gets_its_206(served, value):
    status, body, headers = get(*served, {"Range": value})
    assert (status, (body, headers["content-range"])) == (206, ONE_RANGE[value])


@pytest.mark.server
@pytest.mark.parametrize("path", ["/monitoring", "/monitoring/summary", "/monitoring/some-key"])
def test_monitoring_pages_are_closed_by_default(app_server, path):
    """Regression: /monitoring/summary listed every endpoint's request counts to anyone."""
    status, body, _ = get(app_server[0], path)
    assert status in (403, 404)
    assert b"evaluate" not in body and b"generate" not in body
