"""img2img and inpaint settings that leave no denoising step (int(steps x strength) = 0) are refused up front."""

import pytest

from genart_demo.errors import InputError
from genart_demo.registry import Registry
from genart_demo.tasks.common import check_denoising_steps
from genart_demo.tasks.inpaint import InpaintRequest, inpaint
from genart_demo.tasks.translate import TranslateRequest, translate

REGISTRY = Registry.load()


@pytest.mark.parametrize(
    "model_id, steps, strength",
    [("sdxl-refiner", 2, None), ("sd15-img2img", 1, None), ("sd15-img2img", 3, 0.3), ("sdxl-img2img", 4, 0.2)],
)
def test_translate_refuses_zero_denoising_steps(studio, photo, tmp_path, model_id, steps, strength):
    """Regression: these crashed inside diffusers with "cannot reshape tensor of 0 elements"."""
    req = TranslateRequest(model=model_id, image=photo, prompt="a watercolor", steps=steps, strength=strength, seed=1)
    with pytest.raises(InputError, match=r"= 0 denoising steps.*use at least \d+ steps"):
        translate(studio, req, output_dir=tmp_path)


def test_inpaint_refuses_zero_denoising_steps(studio, photo, square_mask, tmp_path):
    req = InpaintRequest(model="sd15-inpaint", image=photo, mask=square_mask, prompt="a cat", steps=1, strength=0.5)
    with pytest.raises(InputError, match=r"1 step\(s\) at strength 0.5 run int\(1 x 0.5\) = 0"):
        inpaint(studio, req, output_dir=tmp_path)


def test_the_message_names_what_would_work():
    with pytest.raises(InputError) as raised:
        check_denoising_steps(2, 0.3)
    assert "at least 4 steps" in str(raised.value) and "strength of at least 0.5" in str(raised.value)
    with pytest.raises(InputError, match="Strength 0 runs no denoising step"):
        check_denoising_steps(30, 0.0)
    check_denoising_steps(4, 0.25)  # exactly one step: allowed
    check_denoising_steps(None, 0.5)  # GANs have no steps
    check_denoising_steps(30, None)  # no strength control


@pytest.mark.parametrize("spec", [s for s in REGISTRY if "strength" in s.controls()], ids=lambda s: s.id)
def test_every_default_runs_at_least_one_step(spec):
    check_denoising_steps(spec.defaults.steps, spec.defaults.strength)
