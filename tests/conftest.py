"""Shared fixtures: every test runs offline on tiny stand-ins, with caches and outputs in temp dirs."""

import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"  # never touch the network
os.environ["GENART_OFFLINE"] = "1"
# An empty local Hub cache: offline, a model found there would run for real instead of as its stand-in, so no
# checkpoint cached on the machine may change what the tests run. Tests that need a cache build their own.
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="genart-empty-hub-")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Stand-ins are built once per test session (or reused from GENART_TEST_CACHE when set)."""
    shared = os.environ.get("GENART_TEST_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("genart-cache")


@pytest.fixture(scope="session")
def settings(cache_dir, tmp_path_factory):
    from genart_demo.settings import Settings

    return replace(Settings.from_env(), cache_dir=cache_dir, output_dir=tmp_path_factory.mktemp("outputs"))


@pytest.fixture(scope="session")
def studio(settings):
    """One offline studio for the session, so each stand-in is loaded once."""
    from genart_demo.studio import Studio

    return Studio.create(settings)


@pytest.fixture(scope="session")
def genart_cli(cache_dir):
    """Run `python -m genart_demo.cli ARGS...` offline on the session's stand-in cache; the CompletedProcess."""
    env = {**os.environ, "GENART_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "GENART_CACHE_DIR": str(cache_dir)}

    def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "genart_demo.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


class Servers:
    """Server processes the tests start on free 127.0.0.1 ports; those still running at the end are stopped."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    @staticmethod
    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def start(
        self,
        argv: list[str],
        port: int,
        log_path: Path,
        *,
        cwd: Path = ROOT,
        env: dict | None = None,
        timeout: float = 180.0,
    ) -> tuple[subprocess.Popen, str]:
        """Run argv with its output appended to log_path; (process, url) once GET url answers 200. Fails the test
        with the end of the log if the process exits first or does not answer within `timeout` seconds."""
        url = f"http://127.0.0.1:{port}/"
        with open(log_path, "a") as log:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"{' '.join(argv)} exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200:
                    return proc, url
            except OSError:
                time.sleep(0.5)
        self.stop(proc)
        pytest.fail(f"{' '.join(argv)} did not answer within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")

    @staticmethod
    def stop(proc: subprocess.Popen) -> None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def servers():
    """The session's Servers: start(argv, port, log_path, cwd=, env=) -> (process, url), stop(process)."""
    started = Servers()
    yield started
    for proc in started.procs:
        if proc.poll() is None:
            started.stop(proc)
