"""requirements.txt declares the real floor and ceiling of the libraries whose APIs genart relies on."""

import importlib.metadata
import warnings
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def declared() -> dict[str, Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]
    return {r.name: r for r in reqs}


@pytest.mark.parametrize(
    "name, too_old, first_good, too_new",
    [
        # from_pretrained(dtype=...) (genart passes dtype; torch_dtype is deprecated) first appears in 0.40.0
        ("diffusers", "0.39.0", "0.40.0", "1.0.0"),
        # transformers.models.clip.image_processing_pil_clip (genart_demo/metrics/clip.py) first appears in 5.4.0
        ("transformers", "5.3.0", "5.4.0", "6.0.0"),
    ],
)
def test_floor_and_ceiling(name, too_old, first_good, too_new):
    spec = declared()[name].specifier
    assert too_old not in spec and first_good in spec and too_new not in spec
    assert importlib.metadata.version(name) in spec  # what the tests run on is allowed


def test_the_clip_module_genart_imports_exists():
    importlib.import_module("transformers.models.clip.image_processing_pil_clip")


def test_loading_raises_no_dtype_deprecation(settings):
    from genart_demo.loading import load_pipeline
    from genart_demo.registry import Registry

    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # diffusers' deprecate() warns "torch_dtype ... 1.0.0"
        pipe = load_pipeline(Registry.load().get("ddpm-cifar10"), standin=True, device="cpu", settings=settings)
    assert pipe.unet.dtype.is_floating_point
