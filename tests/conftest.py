"""Shared fixtures: every test runs offline on tiny stand-ins, with caches and outputs in temp dirs."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # never touch the network
os.environ["GENART_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


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
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "GENART_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "GENART_CACHE_DIR": str(cache_dir)}

    def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "genart_demo.cli", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=timeout)

    return run
