"""Offline with a populated local Hub cache: cached models run for real (`standin: false`), missing ones as stand-ins."""

import shutil
from dataclasses import replace

import pytest

from genart_demo.loading import is_cached
from genart_demo.registry import Registry
from genart_demo.studio import Studio
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tiny.store import ensure_standin

SHA = "0123456789abcdef0123456789abcdef01234567"


def cache_repo(hub: str, repo: str, folder) -> None:
    """Put `folder` into the Hugging Face cache layout under `hub` as `repo` at main."""
    root = hub / f"models--{repo.replace('/', '--')}"
    shutil.copytree(folder, root / "snapshots" / SHA)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(SHA)


@pytest.fixture()
def cached_studio(tmp_path, settings):
    """An offline studio whose local Hub cache holds google/ddpm-cifar10-32 (tiny weights in the repo's layout)."""
    hub = tmp_path / "hub"
    cache_repo(hub, "google/ddpm-cifar10-32", ensure_standin("DDPMPipeline", settings.cache_dir))
    return Studio.create(replace(settings, hub_cache=str(hub), output_dir=tmp_path / "out"))


def test_offline_runs_cached_models_for_real_and_stands_in_for_the_rest(cached_studio):
    registry = Registry.load()
    assert cached_studio.offline
    assert is_cached(registry.get("ddpm-cifar10"), cached_studio.settings)
    assert not is_cached(registry.get("sd15"), cached_studio.settings)
    assert cached_studio.real_offline() == ["ddpm-cifar10", "ddim-cifar10"]  # both entries read that repo
    assert cached_studio.runs_standin("sd15") and not cached_studio.runs_standin("ddpm-cifar10")
    assert "run for real: ddpm-cifar10, ddim-cifar10" in cached_studio.notice
    assert f"other {len(registry) - 2} are not cached" in cached_studio.notice

    result = generate(cached_studio, GenerateRequest(model="ddim-cifar10", steps=2, seed=3))
    assert result.standin is False and result.settings[0].standin is False
    entry = cached_studio.cache.get(registry.get("ddim-cifar10"))
    assert entry.standin is False and entry.spec.defaults.width == 32  # the real entry's size, not a stand-in's
    assert result.images[0].size == (32, 32)

    standin = generate(cached_studio, GenerateRequest(model="ddpm-celebahq", steps=2, seed=3))
    assert standin.standin is True and standin.settings[0].standin is True


def test_standins_always_overrides_the_local_cache(cached_studio):
    studio = Studio.create(replace(cached_studio.settings, standins="always"))
    assert studio.real_offline() == [] and studio.runs_standin("ddpm-cifar10")
