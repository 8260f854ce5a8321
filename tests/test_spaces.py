"""The deployable Spaces: committed files equal the generated ones, their metadata, and the assembled folders,
which build their app offline with only themselves on the path; push is checked against a fake HfApi."""

import json
import os
import subprocess
import sys
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from huggingface_hub import SpaceHardware
from packaging.requirements import Requirement

import genart_demo
from genart_demo.errors import InputError
from genart_demo.pages import all_pages
from genart_demo.registry import Registry
from genart_demo.settings import Settings
from genart_demo.spaces_build import (
    build_space,
    push_space,
    space_files,
    space_metadata,
    space_models,
    spaces_markdown,
    write_spaces,
)
from genart_demo.spaces_table import COLORS, SPACES, get_space, space_registry

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = Registry.load()
NAMES = list(SPACES)
REQUIRED_KEYS = (
    "title",
    "emoji",
    "colorFrom",
    "colorTo",
    "sdk",
    "sdk_version",
    "app_file",
    "suggested_hardware",
    "models",
    "license",
)
# the endpoints each Space's app offers: a single-task Space only its page's, the leaderboard only viewing
SPACE_APIS = {
    "text-to-image": {"generate", "compare"},
    "upscaler": {"upscale"},
    "video": {"video"},
    "leaderboard": {
        "leaderboard_gallery_drawbench",
        "leaderboard_gallery_parti",
        "leaderboard_gallery_geneval",
        "leaderboard_gallery_t2i_compbench",
        "leaderboard_gallery_other",
    },
    "arena": {
        "arena_battle",
        "arena_named",
        "arena_instant",
        "arena_vote",
        "arena_session_join",
        "arena_session_vote",
        "arena_session_create",
        "arena_session_status",
        "arena_session_export",
        "arena_session_flagged",
        "arena_ratings",
        "arena_keep_rater",
        "arena_slices",
        "arena_my_ratings",
    },
}
SPACE_APIS["studio"] = set().union(*SPACE_APIS.values()) | {
    "grid",
    "translate",
    "inpaint",
    "evaluate",
    "evaluate_pair",
    "evaluate_autoencoder",
    "evaluate_clip",
    "evaluate_scorers",
    "png_info",
}

PROBE = """
import json, app, genart_demo, leaderboard, gradio as gr
from genart_demo.spaces_table import get_space, space_heading, space_pages, space_studio
from genart_demo.ui.app import build_app, open_services
space, studio = get_space(app.SPACE), space_studio(app.SPACE)
pages = space_pages(space)
blocks = build_app(studio, pages, open_services(studio, pages), **space_heading(space))
apis = sorted(f.api_name for f in blocks.fns.values()
              if f.api_name and f.api_visibility == "public")  # not examples' loaders (undocumented)
tabs = [b.label for b in blocks.blocks.values() if isinstance(b, gr.Tab) and b.id in [p.key for p in pages]]
runs = {}
if app.SPACE == "leaderboard":
    from leaderboard.ui import runs_by_set
    runs = runs_by_set(studio)
print(json.dumps({"genart": genart_demo.__file__, "leaderboard": leaderboard.__file__, "apis": apis, "tabs": tabs,
                  "models": studio.registry.ids(), "title": blocks.title, "runs": runs}))
"""
DIST_INFO = f"genart-{genart_demo.__version__}.dist-info"  # a built Space's entry points (the leaderboard's pages)


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def _space_env(folder: Path, cache_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENART_", "SPACES_", "PYTHON"))}
    return {
        **env,
        "PYTHONPATH": str(folder),
        "GENART_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "GENART_CACHE_DIR": str(cache_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
        **extra,
    }


@pytest.mark.parametrize("name", NAMES)
def test_committed_space_folder_is_the_generated_one(name):
    for file, text in space_files(name).items():
        committed = ROOT / "spaces" / name / file
        assert committed.read_text(encoding="utf-8") == text, f"run `genart spaces write`: {committed} differs"


def test_spaces_folder_holds_exactly_the_table():
    assert sorted(p.name for p in (ROOT / "spaces").iterdir() if p.is_dir()) == sorted(NAMES)
    assert write_spaces(ROOT / "spaces", check=True) == []
    assert NAMES == ["studio", "arena", "leaderboard", "text-to-image", "upscaler", "video"]


@pytest.mark.parametrize("name", NAMES)
def test_readme_metadata_parses_with_the_required_keys(name):
    meta = _front_matter((ROOT / "spaces" / name / "README.md").read_text(encoding="utf-8"))
    assert meta == space_metadata(get_space(name))
    assert all(key in meta for key in REQUIRED_KEYS)
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and meta["license"] == "apache-2.0"
    gradio_version = metadata.version("gradio")
    assert meta["sdk_version"] == gradio_version
    required = next(
        Requirement(line) for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("gradio")
    )
    assert required.specifier.contains(gradio_version)
    assert meta["python_version"] == "3.11"  # a string: the registry needs tomllib
    assert meta["colorFrom"] in COLORS and meta["colorTo"] in COLORS
    assert meta["suggested_hardware"] in {h.value for h in SpaceHardware}
    assert len(meta["short_description"]) <= 60 and len(meta["emoji"]) == 1
    repos = {s.repo for s in REGISTRY} | {c["repo"] for s in REGISTRY for c in s.components.values()}
    assert meta["models"] and set(meta["models"]) <= repos and len(set(meta["models"])) == len(meta["models"])
    space = get_space(name)
    if space.default_model:
        assert meta["preload_from_hub"][0] == REGISTRY.get(space.default_model).repo == meta["models"][0]
    else:
        assert "preload_from_hub" not in meta


def test_each_space_uses_its_tasks_models():
    t2i = space_models(get_space("text-to-image"))
    assert t2i[0] == "stabilityai/sdxl-turbo" and "black-forest-labs/FLUX.1-schnell" in t2i
    assert "stabilityai/stable-diffusion-xl-refiner-1.0" in t2i  # sdxl-base hands its latents to the refiner
    assert "google/ddpm-cifar10-32" not in t2i and "stabilityai/stable-video-diffusion-img2vid-xt" not in t2i
    video = space_models(get_space("video"))
    assert video[0] == "THUDM/CogVideoX-2b" and "guoyww/animatediff-motion-adapter-v1-5-2" in video
    assert len(space_models(get_space("studio"))) == len({s.repo for s in REGISTRY}) + 2  # + controlnet, adapter
    upscale = space_registry(get_space("upscaler")).ids()
    assert upscale == ["realesrgan-x4plus", "sd-x4-upscaler", "ldm-sr-4x", "esrgan-remacri"]
    assert space_registry(get_space("leaderboard")).ids() == [s.id for s in REGISTRY.for_tasks(["text-to-image"])]


def test_unknown_space_is_refused_with_the_names(genart_cli, tmp_path):
    with pytest.raises(InputError) as err:
        get_space("txt2img")
    assert (
        str(err.value) == "Unknown Space 'txt2img'. Spaces: studio, arena, leaderboard, text-to-image, upscaler, video."
    )
    proc = genart_cli("spaces", "build", "txt2img", str(tmp_path / "out"))
    assert proc.returncode == 2 and "error: Unknown Space 'txt2img'. Spaces: studio, arena," in proc.stderr
    assert not (tmp_path / "out").exists()


def test_cli_lists_and_checks_the_space_folders(genart_cli, tmp_path):
    listing = genart_cli("spaces", "list").stdout.splitlines()
    assert len(listing) == 7 and listing[4].split()[:2] == ["text-to-image", "genart"]
    assert "zero-a10g" in listing[4] and "sdxl-turbo" in listing[4]
    proc = genart_cli("spaces", "write", "--check", "--root", str(tmp_path))
    assert proc.returncode == 1 and len(proc.stdout.split()) == 18 and "differ" in proc.stderr
    assert genart_cli("spaces", "write", "--root", str(tmp_path)).returncode == 0
    assert (tmp_path / "video" / "app.py").read_text() == (ROOT / "spaces" / "video" / "app.py").read_text()
    assert genart_cli("spaces", "write", "--check", "--root", str(tmp_path)).returncode == 0
    proc = genart_cli("spaces", "build", "leaderboard", str(tmp_path / "lb"))
    assert proc.returncode == 0 and [Path(p).name for p in proc.stdout.split()] == [
        "README.md",
        "app.py",
        DIST_INFO,
        "genart_demo",
        "leaderboard",
        "requirements.txt",
    ]
    assert "python app.py" in proc.stderr


def test_readme_lists_the_spaces():
    assert spaces_markdown() in (ROOT / "README.md").read_text()


def test_build_assembles_a_self_contained_folder(tmp_path):
    out = build_space("upscaler", tmp_path / "up")
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "app.py",
        DIST_INFO,
        "genart_demo",
        "leaderboard",
        "requirements.txt",
    ]
    entry_points = (out / DIST_INFO / "entry_points.txt").read_text()
    assert (
        "[genart.pages]\nleaderboard = leaderboard.pages:LEADERBOARD\narena = leaderboard.pages:ARENA" in entry_points
    )
    assert (out / "genart_demo" / "registry.toml").read_bytes() == (ROOT / "genart_demo" / "registry.toml").read_bytes()
    assert (out / "leaderboard" / "data" / "DrawBench.csv").is_file()
    assert (out / "leaderboard" / "data" / "PartiPrompts.tsv").is_file()
    assert not list(out.rglob("__pycache__")) and not list(out.rglob("*.pyc"))
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert "torch>=2.4" in requirements and "diffusers>=0.40,<1.0" in requirements
    assert not [r for r in requirements if r.startswith("gradio")]  # sdk_version installs it
    with pytest.raises(InputError, match="is not an empty folder"):
        build_space("upscaler", out)


def test_build_bundles_leaderboard_runs(tmp_path):
    run = tmp_path / "runs" / "db1"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"prompt_set": "drawbench"}))
    (run / "manifest.csv").write_text("model,prompt_id\n")
    (run / ".manifest.abc.part.csv").write_text("half written")  # a temporary file: left behind
    (tmp_path / "runs" / "notes").mkdir()  # not a run: left out
    out = build_space("leaderboard", tmp_path / "lb", runs=tmp_path / "runs")
    assert sorted(p.name for p in (out / "outputs" / "leaderboard").iterdir()) == ["db1"]
    assert (out / "outputs" / "leaderboard" / "db1" / "manifest.csv").read_text() == "model,prompt_id\n"
    assert sorted(p.name for p in (out / "outputs" / "leaderboard" / "db1").iterdir()) == ["manifest.csv", "run.json"]
    with pytest.raises(InputError, match="No leaderboard runs in"):
        build_space("leaderboard", tmp_path / "lb2", runs=tmp_path / "runs" / "notes")


@pytest.fixture(scope="module")
def built_spaces(tmp_path_factory, cache_dir):
    """Every Space assembled, each app built offline in its own process (cwd and PYTHONPATH = the folder only);
    {name: the probe's report}."""
    root = tmp_path_factory.mktemp("spaces")
    run = root / "runs" / "db1"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"prompt_set": "drawbench"}))
    procs = {}
    for name in NAMES:
        folder = build_space(name, root / name, runs=root / "runs" if name == "leaderboard" else None)
        procs[name] = (
            folder,
            subprocess.Popen(
                [sys.executable, "-c", PROBE],
                cwd=folder,
                env=_space_env(folder, cache_dir),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    reports = {}
    for name, (folder, proc) in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name}: {err[-3000:]}"
        reports[name] = {**json.loads(out.strip().splitlines()[-1]), "folder": str(folder)}
    return reports


@pytest.mark.parametrize("name", NAMES)
def test_assembled_space_builds_its_app_offline(built_spaces, name):
    report = built_spaces[name]
    folder = Path(report["folder"])
    assert Path(report["genart"]).is_relative_to(folder) and Path(report["leaderboard"]).is_relative_to(folder)
    assert set(report["apis"]) == SPACE_APIS[name]
    space = get_space(name)
    assert report["title"] == space.title
    assert report["models"] == space_registry(space).ids()
    if space.default_model:
        assert report["models"][0] == space.default_model
    assert report["runs"] == ({"drawbench": ["db1"]} if name == "leaderboard" else {})
    # the studio Space shows every page of the one table, as `python app.py` does; a page Space only its page
    expected = [p.title for p in all_pages()] if space.page == "studio" else []
    assert report["tabs"] == expected


class FakeHfApi:
    """Records what `genart spaces push` would send to the Hub."""

    def __init__(self, token=None):
        self.token, self.calls = token, []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/spaces/{repo_id}"

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        folder = Path(folder_path)
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        readme = (folder / "README.md").read_text(encoding="utf-8")
        self.calls.append(("upload_folder", repo_id, {**kwargs, "files": files, "readme": readme, "folder": folder}))


@pytest.fixture
def fake_hub(monkeypatch):
    """huggingface_hub.HfApi replaced by FakeHfApi; the list of the instances made."""
    import huggingface_hub

    made = []

    def make(token=None):
        made.append(FakeHfApi(token))
        return made[-1]

    monkeypatch.setattr(huggingface_hub, "HfApi", make)
    return made


def test_push_creates_the_space_and_uploads_the_built_folder(fake_hub):
    url = push_space("text-to-image", "someone/genart-t2i", private=True)
    assert url == "https://huggingface.co/spaces/someone/genart-t2i"
    (api,) = fake_hub
    (create, upload) = api.calls
    assert create == (
        "create_repo",
        "someone/genart-t2i",
        {"repo_type": "space", "space_sdk": "gradio", "exist_ok": True, "private": True},
    )
    assert upload[0] == "upload_folder" and upload[1] == "someone/genart-t2i"
    sent = upload[2]
    assert sent["repo_type"] == "space" and sent["delete_patterns"] == ["genart_demo/**", "leaderboard/**"]
    assert {
        "README.md",
        "app.py",
        "requirements.txt",
        "genart_demo/registry.toml",
        "genart_demo/zerogpu.py",
        "leaderboard/data/DrawBench.csv",
    } <= set(sent["files"])
    assert not [f for f in sent["files"] if "__pycache__" in f]
    assert sent["readme"] == space_files("text-to-image")["README.md"]
    assert not sent["folder"].exists()  # the temporary build is removed


def test_push_refuses_a_bad_repo_or_space_before_any_upload(fake_hub):
    with pytest.raises(InputError, match="not of the form USER/NAME"):
        push_space("video", "genart-video")
    with pytest.raises(InputError, match="Unknown Space 'vid'"):
        push_space("vid", "me/genart-video")
    assert all(api.calls == [] for api in fake_hub)


def test_launch_options_follow_genart_then_the_hub(settings):
    hub = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7861"}  # what the Hub sets in a Space
    options = Settings.from_env(hub).launch_options()
    assert (options["server_name"], options["server_port"]) == ("0.0.0.0", 7861)
    options = Settings.from_env({**hub, "GENART_HOST": "127.0.0.2", "GENART_PORT": "9000"}).launch_options()
    assert (options["server_name"], options["server_port"]) == ("127.0.0.2", 9000)
    options = settings.launch_options()
    assert options["allowed_paths"] == [str(settings.output_dir.resolve())]
    assert options["blocked_paths"] == [str(settings.output_dir.resolve() / "arena")]  # vote database and ticket key
    assert options["max_file_size"] == "1024mb"  # GENART_MAX_UPLOAD_MB's default


@pytest.mark.server
def test_assembled_text_to_image_space_serves_and_generates(servers, cache_dir, tmp_path):
    from gradio_client import Client

    from genart_demo.media import read_png_settings

    folder = build_space("text-to-image", tmp_path / "t2i")
    port = servers.free_port()
    env = _space_env(folder, cache_dir, GENART_PORT=str(port), GENART_OUTPUT_DIR=str(tmp_path / "out"))
    proc, url = servers.start([sys.executable, "app.py"], port, tmp_path / "space.log", cwd=folder, env=env)
    try:
        page = urllib.request.urlopen(url, timeout=30)
        assert page.status == 200 and "genart text-to-image" in page.read().decode()
        client = Client(url, verbose=False)
        gallery, params_json, _ = client.predict(
            "sdxl-turbo", "a red fox", "", "", 1, 0.0, 64, 64, 7, 1, None, False, api_name="/generate"
        )
        params = json.loads(params_json)  # one image: its settings
        assert len(gallery) == 1 and params["model"] == "sdxl-turbo" and params["seed"] == 7
        assert read_png_settings(gallery[0]["image"]).seed == 7
        assert len(list((tmp_path / "out").rglob("*.png"))) == 1
    finally:
        servers.stop(proc)
