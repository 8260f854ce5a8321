"""ZeroGPU: durations estimated from model, steps, size and frames; `spaces.GPU` only when Settings.zerogpu is on."""

import sys
import types
from types import SimpleNamespace

import gradio as gr
import pytest

from genart_demo import zerogpu
from genart_demo.errors import InputError
from genart_demo.registry import Registry
from genart_demo.settings import Settings
from genart_demo.tasks.generate import CompareRequest, GenerateRequest
from genart_demo.tasks.video import VideoRequest
from genart_demo.ui.common import run_task
from genart_demo.zerogpu import (
    DEFAULT_SECONDS,
    MAX_SECONDS,
    MIN_SECONDS,
    call_seconds,
    estimate_seconds,
    gpu_call,
    prepare_zerogpu,
)

REGISTRY = Registry.load()


class FakeSpaces(types.ModuleType):
    """Stands in for Hugging Face's `spaces` package: records each GPU(duration=...) and each wrapped call."""

    def __init__(self):
        super().__init__("spaces")
        self.durations: list[int] = []
        self.calls: list[int] = []

    def GPU(self, duration=None):  # the real package's name
        def decorate(fn):
            self.durations.append(duration)

            def wrapped(*args, **kwargs):
                self.calls.append(duration)
                return fn(*args, **kwargs)

            return wrapped

        return decorate


@pytest.fixture
def fake_spaces(monkeypatch):
    """A fake `spaces` that records every use of it."""
    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    return fake


def _studio(zerogpu: bool):
    return SimpleNamespace(wait_for_warm_up=lambda: None, registry=REGISTRY, settings=Settings(zerogpu=zerogpu))


def test_estimate_is_load_plus_steps_times_pixels():
    sdxl = REGISTRY.get("sdxl-base")  # 8 GB: load 5 + 8 s; a 1024x1024 step 0.01 * 8 * 4 = 0.32 s
    assert estimate_seconds(sdxl, 30, 1024, 1024) == 23  # ceil(13 + 30 * 0.32)
    assert estimate_seconds(sdxl, 100, 1024, 1024) == 45  # ceil(13 + 100 * 0.32)


def test_estimate_grows_with_steps_size_frames_batch_and_model():
    sdxl = REGISTRY.get("sdxl-base")
    base = estimate_seconds(sdxl, 40, 768, 768)
    assert estimate_seconds(sdxl, 80, 768, 768) > base
    assert estimate_seconds(sdxl, 40, 1024, 1024) > base
    assert estimate_seconds(sdxl, 40, 768, 768, frames=2) > base
    assert estimate_seconds(sdxl, 40, 768, 768, batch=2) > base
    assert estimate_seconds(REGISTRY.get("flux-schnell"), 40, 768, 768) > base  # 33 GB of weights


def test_estimate_is_clamped():
    assert estimate_seconds(REGISTRY.get("ddpm-cifar10"), 1, 32, 32) == MIN_SECONDS
    assert estimate_seconds(REGISTRY.get("flux-schnell"), 500, 2048, 2048, batch=4) == MAX_SECONDS
    svd = REGISTRY.get("svd-xt")
    assert estimate_seconds(svd, 25, 1024, 576, frames=25) == 156  # ceil(15 + 25 * 0.01 * 10 * 2.25 * 25)
    assert estimate_seconds(svd, 60, 1024, 576, frames=25) == MAX_SECONDS


def test_call_seconds_reads_the_request_and_defaults():
    sd15 = REGISTRY.get("sd15")
    request = GenerateRequest(model="sd15", prompt="x", steps=200, width=768, height=768, batch=2)
    assert call_seconds(REGISTRY, request) == estimate_seconds(sd15, 200, 768, 768, batch=2)
    d = sd15.defaults
    assert call_seconds(REGISTRY, GenerateRequest(model="sd15")) == estimate_seconds(sd15, d.steps, d.width, d.height)
    video = VideoRequest(model="cogvideox-2b", prompt="x", frames=17, steps=20, width=720, height=480)
    assert call_seconds(REGISTRY, video) == estimate_seconds(REGISTRY.get("cogvideox-2b"), 20, 720, 480, frames=17)


def test_call_seconds_sums_compare_and_refiner_and_never_raises():
    request = GenerateRequest(model="", prompt="x", steps=30, width=512, height=512)
    one = [estimate_seconds(REGISTRY.get(m), 30, 512, 512) for m in ("sd15", "sd21")]
    assert call_seconds(REGISTRY, CompareRequest(request, ("sd15", "sd21"))) == sum(one)
    plain_sdxl = call_seconds(REGISTRY, GenerateRequest(model="sdxl-base", steps=30))
    refined = call_seconds(REGISTRY, GenerateRequest(model="sdxl-base", steps=30, refine=True))
    assert refined > plain_sdxl  # the refiner runs in the same call
    assert call_seconds(REGISTRY, GenerateRequest(model="sd-99")) == DEFAULT_SECONDS  # the task refuses it
    assert call_seconds(REGISTRY, GenerateRequest(model="sd15", steps="many")) == call_seconds(
        REGISTRY, GenerateRequest(model="sd15")
    )
    assert call_seconds(REGISTRY, SimpleNamespace(reference="a", generated="b")) == DEFAULT_SECONDS  # no model_ids
    assert call_seconds(REGISTRY, None) == DEFAULT_SECONDS


def test_requests_name_the_models_they_run():
    assert GenerateRequest(model="sd15").model_ids() == ("sd15",)
    assert VideoRequest(model="svd-xt").model_ids() == ("svd-xt",)
    assert CompareRequest(GenerateRequest(model=""), ("sd15", "sd21")).model_ids() == ("sd15", "sd21")


def test_settings_read_zerogpu_from_the_environment():
    for value, expected in (("true", True), ("1", True), ("false", False), ("", False)):
        assert Settings.from_env({"SPACES_ZERO_GPU": value}).zerogpu is expected
    assert Settings.from_env({}).zerogpu is False


def test_gpu_call_wraps_only_on_zerogpu(fake_spaces):
    def task(x):
        return x * 2

    wrapped = gpu_call(task, 42, True)
    assert wrapped is not task and wrapped(4) == 8
    assert fake_spaces.durations == [42] and fake_spaces.calls == [42]
    assert gpu_call(task, 42, False) is task and fake_spaces.durations == [42]


def test_run_task_on_zerogpu_asks_for_the_estimate(fake_spaces):
    seen = []

    def task(studio, request, progress=None):
        seen.append((request.steps, progress))
        return f"ran {request.model}"

    small = GenerateRequest(model="sdxl-base", prompt="x", steps=10, width=512, height=512)
    large = GenerateRequest(model="sdxl-base", prompt="x", steps=60, width=1024, height=1024)
    assert run_task(task, _studio(True), small, progress="bar") == "ran sdxl-base"
    assert run_task(task, _studio(True), large, progress="bar") == "ran sdxl-base"
    sdxl = REGISTRY.get("sdxl-base")
    assert fake_spaces.durations == [estimate_seconds(sdxl, 10, 512, 512), estimate_seconds(sdxl, 60, 1024, 1024)]
    assert fake_spaces.durations[0] < fake_spaces.durations[1]
    assert fake_spaces.calls == fake_spaces.durations  # each call ran inside its own spaces.GPU wrapper
    assert seen == [(10, "bar"), (60, "bar")]


def test_run_task_errors_keep_their_message_on_zerogpu(fake_spaces):
    def task(studio, request):
        raise InputError("Steps must be at most 500; got 900.")

    with pytest.raises(gr.Error, match="Steps must be at most 500; got 900."):
        run_task(task, _studio(True), GenerateRequest(model="sd15", steps=900))
    assert len(fake_spaces.calls) == 1  # raised inside the GPU call, as a gr.Error that crosses back whole


def test_run_task_off_zerogpu_calls_directly(fake_spaces):
    def task(studio, request, progress=None):
        return request.steps + 1

    assert run_task(task, _studio(False), GenerateRequest(model="sd15", steps=4)) == 5
    assert fake_spaces.durations == [] and fake_spaces.calls == []


def test_prepare_zerogpu_registers_a_gpu_function(fake_spaces):
    assert prepare_zerogpu(True) is True
    assert fake_spaces.durations == [MIN_SECONDS]
    assert prepare_zerogpu(False) is False and fake_spaces.durations == [MIN_SECONDS]
    assert zerogpu._gpu_ready() is True
