"""A real app server for the UI tests: `python app.py` on a free 127.0.0.1 port, offline, stopped at the end."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ARENA_MODELS = "sd15,sd-turbo"  # the arena's battles draw from these two fast stand-ins


def start_app(out: Path, cache_dir: Path, log_path: Path, **env_extra: str):
    """Launch `python app.py` offline on a free port; (process, url). Fails with the log if it does not come up."""
    port = _free_port()
    env = {**os.environ, "GENART_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "GENART_CACHE_DIR": str(cache_dir),
           "GENART_OUTPUT_DIR": str(out), "GRADIO_ANALYTICS_ENABLED": "False", "GENART_ARENA_MODELS": ARENA_MODELS,
           **env_extra}
    with open(log_path, "a") as log:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail(f"app did not answer within 180 s:\n{log_path.read_text()[-3000:]}")


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_server(cache_dir, tmp_path_factory):
    """(url, output_dir, log_path) of a launched app; fails with the server log if it does not come up."""
    out = tmp_path_factory.mktemp("app-outputs")
    log_path = tmp_path_factory.mktemp("app-log") / "app.log"
    proc, url = start_app(out, cache_dir, log_path)
    yield url, out, log_path
    stop_app(proc)


@pytest.fixture
def launch_app(cache_dir):
    """launch(out, log_path, **env) -> (process, url): an app of the test's own; stopped at the end if still up."""
    procs = []

    def launch(out: Path, log_path: Path, **env: str):
        proc, url = start_app(out, cache_dir, log_path, **env)
        procs.append(proc)
        return proc, url

    yield launch
    for proc in procs:
        if proc.poll() is None:
            stop_app(proc)


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
        pytest.skip("Debian chromium is not installed (bash .ci/setup --test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


