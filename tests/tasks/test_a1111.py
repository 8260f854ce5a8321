"""Every task's PNG is recognised by an AUTOMATIC1111 reader (sd-parsers) with its prompt, seed, steps, sampler and
CFG scale, plus the denoising strength (img2img, inpaint) and image CFG scale (InstructPix2Pix) where they apply."""

from pathlib import Path

import pytest
from sd_parsers import ParserManager
from sd_parsers.data import Generators

from genart_demo.media import read_png_settings
from genart_demo.run_settings import NO_GUIDANCE, ONE_PASS_SAMPLER
from genart_demo.tasks.generate import CompareRequest, GenerateRequest, compare, generate
from genart_demo.tasks.inpaint import InpaintRequest, inpaint
from genart_demo.tasks.translate import TranslateRequest, translate
from genart_demo.tasks.upscale import UpscaleRequest, upscale


def a1111_fields(path: Path) -> dict[str, str]:
    """What an A1111 reader takes from the PNG: prompt, negative prompt, sampler and the labelled values."""
    info = ParserManager().parse(path)
    assert info is not None, f"sd-parsers does not recognise {path.name}: {read_png_settings(path)}"
    assert info.generator is Generators.AUTOMATIC1111
    (sampler,) = info.samplers
    return {
        "prompt": " ".join(p.value for p in sampler.prompts),
        "negative_prompt": " ".join(p.value for p in sampler.negative_prompts),
        "sampler": sampler.name,
        "model": sampler.model.name if sampler.model else "",
        **sampler.parameters,  # steps, cfg_scale, seed
        **info.metadata,  # the other labels, as written
    }


# Each case: the task run on stand-ins in `out`, returning the paths of its PNGs.
CASES = {
    "generate": lambda s, photo, mask, out: (
        generate(
            s,
            GenerateRequest(model="sd15", prompt="a red fox", negative_prompt="blurry", steps=2, seed=11),
            output_dir=out,
        ).paths
    ),
    "generate-unconditional": lambda s, photo, mask, out: (
        generate(s, GenerateRequest(model="ddpm-cifar10", steps=2, seed=12), output_dir=out).paths
    ),
    "compare": lambda s, photo, mask, out: [
        p
        for r in compare(
            s,
            CompareRequest(GenerateRequest(model="", prompt="a red fox", steps=2, seed=13), ("sd15", "sd-turbo")),
            output_dir=out,
        )
        for p in r.paths
    ],
    "translate-img2img": lambda s, photo, mask, out: (
        translate(
            s,
            TranslateRequest(model="sd15-img2img", image=photo, prompt="a watercolor", steps=4, strength=0.6, seed=14),
            output_dir=out,
        ).paths
    ),
    "translate-instruct-pix2pix": lambda s, photo, mask, out: (
        translate(
            s,
            TranslateRequest(model="instruct-pix2pix", image=photo, prompt="make it snow", steps=2, image_guidance=1.3),
            output_dir=out,
        ).paths
    ),
    "translate-gan": lambda s, photo, mask, out: (
        translate(s, TranslateRequest(model="pix2pix-facades", image=photo, seed=15), output_dir=out).paths
    ),
    "inpaint": lambda s, photo, mask, out: (
        inpaint(
            s,
            InpaintRequest(
                model="sd15-inpaint", image=photo, mask=mask, prompt="a cat", steps=4, strength=0.75, seed=16
            ),
            output_dir=out,
        ).paths
    ),
    "upscale-diffusion": lambda s, photo, mask, out: [
        upscale(
            s, UpscaleRequest(model="sd-x4-upscaler", image=photo, prompt="a photo", steps=2, seed=17), output_dir=out
        ).path
    ],
    "upscale-gan": lambda s, photo, mask, out: [
        upscale(s, UpscaleRequest(model="realesrgan-x4plus", image=photo, seed=18), output_dir=out).path
    ],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_task_png_is_read_by_an_a1111_parser(studio, photo, square_mask, case, tmp_path):
    paths = CASES[case](studio, photo, square_mask, tmp_path)
    assert paths
    for path in paths:
        settings = read_png_settings(path)  # genart's JSON: what the image was really made with
        got = a1111_fields(path)
        assert got["prompt"] == settings.prompt and got["negative_prompt"] == settings.negative_prompt
        assert int(got["seed"]) == settings.seed and got["model"] == settings.model
        if settings.steps is None:  # a one-pass model (GAN) says so in the fields A1111 readers need
            assert (got["steps"], got["sampler"]) == ("1", ONE_PASS_SAMPLER)
        else:
            assert (int(got["steps"]), got["sampler"]) == (settings.steps, settings.scheduler)
        guidance = NO_GUIDANCE if settings.guidance is None else settings.guidance
        assert float(got["cfg_scale"]) == guidance
        if getattr(settings, "strength", None) is not None:
            assert float(got["Denoising strength"]) == settings.strength
        if getattr(settings, "image_guidance", None) is not None:
            assert float(got["Image CFG scale"]) == settings.image_guidance


def test_the_fields_each_task_sets_are_the_ones_asked_for(studio, photo, square_mask, tmp_path):
    """The values the requests above gave, as an A1111 reader shows them."""
    img2img = a1111_fields(CASES["translate-img2img"](studio, photo, square_mask, tmp_path)[0])
    assert (img2img["Denoising strength"], img2img["steps"], img2img["seed"]) == ("0.6", "4", "14")
    pix2pix = a1111_fields(CASES["translate-instruct-pix2pix"](studio, photo, square_mask, tmp_path)[0])
    assert pix2pix["Image CFG scale"] == "1.3" and pix2pix["prompt"] == "make it snow"
    painted = a1111_fields(CASES["inpaint"](studio, photo, square_mask, tmp_path)[0])
    assert (painted["Denoising strength"], painted["Mask blur"], painted["prompt"]) == ("0.75", "4", "a cat")
    gan = a1111_fields(CASES["upscale-gan"](studio, photo, square_mask, tmp_path)[0])
    assert (gan["steps"], gan["sampler"], gan["cfg_scale"], gan["Postprocess upscale by"]) == (
        "1",
        ONE_PASS_SAMPLER,
        "1.0",
        "4",
    )
