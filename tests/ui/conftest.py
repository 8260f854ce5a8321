"""A real app server for the UI tests: `python app.py` on a free 127.0.0.1 port, offline, stopped at the end."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import shutil

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_server(cache_dir, tmp_path_factory):
    """(url, output_dir, log_path) of a launched app; fails with the server log if it does not come up."""
    port = _free_port()
    out = tmp_path_factory.mktemp("app-outputs")
    log_path = tmp_path_factory.mktemp("app-log") / "app.log"
    env = {**os.environ, "GENART_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "GENART_CACHE_DIR": str(cache_dir),
           "GENART_OUTPUT_DIR": str(out), "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"app did not answer within 180 s:\n{log_path.read_text()[-3000:]}")
    yield url, out, log_path
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


CHROMIUM = os.environ.get("GENART_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"  # screenshots, kept out of git
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def artifacts():
    """Where browser tests save screenshots (git ignores it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def page():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Debian chromium is not installed (bash .ci/setup --browser installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


