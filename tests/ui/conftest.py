"""A real app server for the UI tests: `python app.py` on a free 127.0.0.1 port, offline, stopped at the end."""

import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


ARENA_MODELS = "sd15,sd-turbo"  # the arena's battles draw from these two fast stand-ins
# Two stand-ins per task beside text-to-image, the fastest the registry has (GAN translators and upscalers run in one
# step): the arena_tasks_server's battles draw from them.
ARENA_TASK_MODELS = {
    "image-to-image": ("pix2pix-facades", "cyclegan-sim2real"),
    "inpaint": ("sd15-inpaint", "sd15-inpaint-img2img"),
    "super-resolve": ("realesrgan-x4plus", "esrgan-remacri"),
    "text-to-video": ("modelscope-t2v", "animatediff-sd15"),
}


def start_app(servers, out: Path, cache_dir: Path, log_path: Path, **env_extra: str):
    """Launch `python app.py` offline on a free port; (process, url). Fails with the log if it does not come up."""
    port = servers.free_port()
    env = {
        **os.environ,
        "GENART_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "GENART_CACHE_DIR": str(cache_dir),
        "GENART_OUTPUT_DIR": str(out),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GENART_ARENA_MODELS": ARENA_MODELS,
        **env_extra,
    }
    return servers.start([sys.executable, "app.py", "--port", str(port)], port, log_path, env=env)


@pytest.fixture(scope="session")
def app_server(servers, cache_dir, tmp_path_factory):
    """(url, output_dir, log_path) of a launched app; fails with the server log if it does not come up."""
    out = tmp_path_factory.mktemp("app-outputs")
    log_path = tmp_path_factory.mktemp("app-log") / "app.log"
    proc, url = start_app(servers, out, cache_dir, log_path)
    yield url, out, log_path
    servers.stop(proc)


@pytest.fixture
def launch_app(servers, cache_dir):
    """launch(out, log_path, **env) -> (process, url): an app of the test's own; stopped at the end if still up."""
    procs = []

    def launch(out: Path, log_path: Path, **env: str):
        proc, url = start_app(servers, out, cache_dir, log_path, **env)
        procs.append(proc)
        return proc, url

    yield launch
    for proc in procs:
        if proc.poll() is None:
            servers.stop(proc)


@pytest.fixture(scope="session")
def image_zips(tmp_path_factory):
    """[real.zip, fake.zip]: 8 and 7 random 32×32 PNGs for the Evaluate tab, each zip also holding an entry
    "../outside.png" that evaluate must skip (and name in its notes) rather than unpack outside its folder."""
    d = tmp_path_factory.mktemp("eval-zips")
    rng = np.random.default_rng(0)
    paths = []
    for name, n in (("real", 8), ("fake", 7)):
        path = d / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for i in range(n):
                png = d / f"{name}-{i}.png"
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(png)
                zf.write(png, f"{i}.png")
            zf.writestr("../outside.png", b"x")
        paths.append(path)
    return paths


CHROMIUM = os.environ.get("GENART_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"  # screenshots, kept out of git
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


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


@pytest.fixture(scope="session")
def arena_tasks_server(servers, cache_dir, tmp_path_factory):
    """An app whose arena draws each task's battles from ARENA_TASK_MODELS (shared by the API and browser tests)."""
    out = tmp_path_factory.mktemp("arena-tasks-out")
    models = ",".join(m for pair in ARENA_TASK_MODELS.values() for m in pair)
    proc, url = start_app(servers, out, cache_dir, out / "app.log", GENART_ARENA_MODELS=models)
    yield url
    servers.stop(proc)


@pytest.fixture(scope="session")
def task_files(tmp_path_factory):
    """A 64 px input picture and an inpainting mask over its top half."""
    d = tmp_path_factory.mktemp("arena-task-inputs")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(d / "in.png")
    mask = np.zeros((64, 64), np.uint8)
    mask[:32] = 255
    Image.fromarray(mask).save(d / "mask.png")
    return {"image": str(d / "in.png"), "mask": str(d / "mask.png")}
