"""The Generate tab's per-model controls: only what a model uses is shown, with its defaults and ranges."""

from genart_demo.ui.common import model_card
from genart_demo.ui.generate import _control_updates

# the form's fields (GenerateRequest names), each standing for its component
FORM = {
    name: name
    for name in (
        "prompt",
        "negative_prompt",
        "class_label",
        "steps",
        "guidance",
        "width",
        "height",
        "scheduler",
        "refine",
        "truncation",
    )
}


def _updates(studio, model_id):
    spec = studio.spec(model_id)
    updates = {("negative" if k == "negative_prompt" else k): v for k, v in _control_updates(spec, FORM).items()}
    return {**updates, "card": model_card(spec)}


def test_text_model_shows_text_controls(studio):
    u = _updates(studio, "sd15")
    assert u["prompt"]["visible"] and u["negative"]["visible"] and u["guidance"]["visible"]
    assert not u["class_label"]["visible"] and not u["refine"]["visible"] and not u["truncation"]["visible"]
    assert (u["width"]["minimum"], u["width"]["maximum"], u["width"]["step"], u["width"]["value"]) == (32, 256, 8, 64)
    assert "DPM++ 2M Karras" in u["scheduler"]["choices"] and u["scheduler"]["value"] == "PNDM"
    assert "stable-diffusion-v1-5/stable-diffusion-v1-5" in u["card"]


def test_unconditional_model_hides_prompt_size_and_guidance(studio):
    u = _updates(studio, "ddpm-cifar10")
    assert not any(u[k]["visible"] for k in ("prompt", "negative", "guidance", "width", "height", "class_label"))
    assert u["scheduler"]["choices"] == ["DDPM", "DDIM"] and u["steps"]["value"] == 500


def test_distilled_and_class_models(studio):
    turbo = _updates(studio, "sdxl-turbo")
    assert turbo["prompt"]["visible"] and not turbo["guidance"]["visible"] and not turbo["negative"]["visible"]
    assert turbo["steps"]["value"] == 1
    dit = _updates(studio, "dit-xl-256")
    assert dit["class_label"]["visible"] and dit["guidance"]["visible"] and not dit["prompt"]["visible"]
    assert _updates(studio, "sdxl-base")["refine"]["visible"]
    assert _updates(studio, "flux-schnell")["width"]["step"] == 16
