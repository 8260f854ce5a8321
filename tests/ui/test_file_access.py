"""Files by URL on the launched app: genart's outputs are served; traversal, other files and symlinks out are not."""

import http.client
import json
import shutil
import urllib.parse
import uuid
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[2]
UP = "../" * 12  # more than enough to climb from the app's folder to /
REFUSED = (400, 403, 404)


def fetch(url: str, path: str) -> tuple[int, bytes, dict]:
    """GET `path` exactly as written (no client-side clean-up of '..' or %2f), as an attacker would send it."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def planted(app_server, cache_dir, tmp_path_factory):
    """Private files outside the output dir, and symlinks inside it that point at them; removed at the end."""
    _, out, _ = app_server
    marker = f"genart-private-{uuid.uuid4().hex}"
    outside = tmp_path_factory.mktemp("outside-the-app")
    (outside / "secret.txt").write_text(marker)
    cached = Path(cache_dir) / f"planted-{uuid.uuid4().hex[:8]}.txt"
    cached.write_text(marker)
    trap = out / "file-access-test"
    trap.mkdir()
    links = {
        "to-file": outside / "secret.txt",
        "to-dir": outside,
        "to-passwd": Path("/etc/passwd"),
        "to-arena-key": out / "arena" / "secret.key",
        "to-cache": cached,
    }
    for name, target in links.items():
        (trap / name).symlink_to(target, target_is_directory=target.is_dir())
    yield {"marker": marker.encode(), "outside": outside, "cached": cached, "trap": trap, "out": out}
    shutil.rmtree(trap)
    cached.unlink()


F = "/gradio_api/file="
ENCODED_UP, ENCODED_DOTS, DOUBLE_ENCODED = UP.replace("/", "%2f"), "%2e%2e%2f" * 12, "%252e%252e%252f" * 12
# Every way in must be refused: (name, request path); {out} is the output dir, {trap} its folder of planted symlinks,
# {outside} a folder beside it, {cached} a file in GENART_CACHE_DIR, {root} the repository, {port} the app's port.
REFUSED_PATHS = [
    ("relative traversal", F + UP + "etc/passwd"),
    ("encoded slashes", F + ENCODED_UP + "etc%2fpasswd"),
    ("encoded dots and slashes", F + ENCODED_DOTS + "etc%2fpasswd"),
    ("double-encoded", F + DOUBLE_ENCODED + "etc%252fpasswd"),
    ("absolute", F + "/etc/passwd"),
    ("encoded absolute", F + "%2Fetc%2Fpasswd"),
    ("double slash", F + "//etc/passwd"),
    ("out of the output dir by ..", F + "{out}/" + UP + "etc/passwd"),
    ("sibling of the output dir", F + "{out}/../{outside.name}/secret.txt"),
    ("the repo's app.py, relative", F + "app.py"),
    ("the repo's app.py, absolute", F + "{root}/app.py"),
    ("the repo's settings module", F + "{root}/genart_demo/settings.py"),
    ("the repo's git config", F + "{root}/.git/config"),
    ("a file in GENART_CACHE_DIR", F + "{cached}"),
    ("the arena's ticket key", F + "{out}/arena/secret.key"),
    ("the arena's vote database", F + "{out}/arena/arena.db"),
    ("the output dir itself", F + "{out}"),
    ("symlink to a file outside", F + "{trap}/to-file"),
    ("symlink to a folder outside", F + "{trap}/to-dir/secret.txt"),
    ("symlink to /etc/passwd", F + "{trap}/to-passwd"),
    ("symlink to the arena key", F + "{trap}/to-arena-key"),
    ("symlink into the cache dir", F + "{trap}/to-cache"),
    ("old file route", "/gradio_api/file{out}/arena/secret.key"),
    ("route without prefix", "/file=/etc/passwd"),
    ("a URL on this server", F + "http://127.0.0.1:{port}/config"),
    ("proxy to this server", "/gradio_api/proxy=http://127.0.0.1:{port}/config"),
]


def test_the_private_files_exist(planted):
    """The files the requests below aim at are really there, so a refusal is a refusal, not a missing file."""
    out = planted["out"]
    assert (out / "arena" / "secret.key").stat().st_size == 32 and (out / "arena" / "arena.db").is_file()
    assert (ROOT / "app.py").is_file() and Path("/etc/passwd").is_file() and planted["cached"].is_file()
    assert (planted["trap"] / "to-dir" / "secret.txt").read_bytes() == planted["marker"]


@pytest.mark.parametrize("template", [pytest.param(path, id=name) for name, path in REFUSED_PATHS])
def test_files_outside_the_outputs_are_refused(app_server, planted, template):
    url = app_server[0]
    path = template.format(
        out=planted["out"],
        outside=planted["outside"],
        cached=planted["cached"],
        trap=planted["trap"],
        root=ROOT,
        port=urllib.parse.urlsplit(url).port,
    )
    status, body, _ = fetch(url, path)
    assert status in REFUSED, (status, body[:200])
    assert planted["marker"] not in body and b"root:" not in body and b"[core]" not in body
    assert b"genart studio: `python app.py" not in body  # app.py's docstring


def test_genart_outputs_are_served(app_server, planted):
    """A PNG genart wrote is served, byte for byte, by its path and through a symlink that stays inside the outputs."""
    url, out, _ = app_server
    before = set(out.glob("*/*.png"))
    gallery, _, _ = Client(url, verbose=False).predict(
        "sd15", "a lighthouse", "", "", 2, 7.5, 64, 64, 3, 1, "PNDM", False, api_name="/generate"
    )
    (png,) = set(out.glob("*/*.png")) - before
    status, body, headers = fetch(url, f"/gradio_api/file={png}")
    assert status == 200 and body == png.read_bytes() and headers["content-type"] == "image/png"
    inside = planted["trap"] / "to-output.png"
    inside.symlink_to(png)
    status, body, _ = fetch(url, f"/gradio_api/file={inside}")
    assert status == 200 and body == png.read_bytes()
    status, body, _ = fetch(url, f"/gradio_api/file={gallery[0]['image']}")  # the copy the client was handed
    assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n"


def test_uploads_stay_in_the_upload_folder_and_come_back_as_downloads(app_server, planted):
    """A file name with '..' cannot place an upload elsewhere; an uploaded page is sent back as a download, never
    shown as a page of the app."""
    url = app_server[0]
    climb = f"{UP}{str(planted['outside']).lstrip('/')}/uploaded.html"
    response = httpx.post(
        urllib.parse.urljoin(url, "gradio_api/upload"),
        timeout=30,
        files={"files": (climb, b"<script>alert(1)</script>", "text/html")},
    )
    assert response.status_code == 200, response.text
    (stored,) = json.loads(response.text)
    assert Path(stored).name == "uploaded.html" and not (planted["outside"] / "uploaded.html").exists()
    assert not Path(stored).is_relative_to(planted["outside"])
    status, body, headers = fetch(url, f"/gradio_api/file={stored}")
    assert status == 200 and body == b"<script>alert(1)</script>"
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"].startswith("attachment")


def test_uploads_over_the_limit_are_refused_with_the_limit(launch_app, tmp_path):
    """GENART_MAX_UPLOAD_MB=1: a 2 MB upload gets a 413 naming the limit; a small one is accepted,
    and the app goes on serving."""
    _, url = launch_app(tmp_path / "out", tmp_path / "app.log", GENART_MAX_UPLOAD_MB="1")
    upload = urllib.parse.urljoin(url, "gradio_api/upload")
    big = httpx.post(upload, timeout=60, files={"files": ("big.png", b"\0" * (2 * 1024 * 1024), "image/png")})
    assert big.status_code == 413, (big.status_code, big.text[:200])
    assert "exceeded maximum allowed size of 1048576 bytes" in big.text, big.text[:200]
    small = httpx.post(upload, timeout=60, files={"files": ("small.png", b"\0" * 1000, "image/png")})
    assert small.status_code == 200, small.text
    (stored,) = json.loads(small.text)
    assert Path(stored).stat().st_size == 1000
    assert httpx.get(urllib.parse.urljoin(url, "config"), timeout=30).status_code == 200
