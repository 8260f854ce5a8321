"""The registry: required checkpoints present, every field well-formed, controls true to the pipelines."""

import diffusers
import pytest

from genart_demo.gan import GAN_CLASSES
from genart_demo.loading import LOADERS, offline_capable
from genart_demo.registry import CONTROLS, KINDS, TASK_CONTROLS, TASKS, Registry, UnknownModelError
from genart_demo.schedulers import SAMPLERS
from genart_demo.tasks.common import pipeline_params

REGISTRY = Registry.load()
REQUIRED_REPOS = {
    "google/ddpm-cifar10-32": "DDPMPipeline",
    "google/ddpm-celebahq-256": "DDPMPipeline",
    "google/ncsnpp-celebahq-256": "ScoreSdeVePipeline",
    "CompVis/ldm-celebahq-256": "LDMPipeline",
    "CompVis/ldm-text2im-large-256": "LDMTextToImagePipeline",
    "facebook/DiT-XL-2-256": "DiTPipeline",
    "stabilityai/stable-diffusion-xl-base-1.0": "StableDiffusionXLPipeline",
    "stabilityai/stable-diffusion-xl-refiner-1.0": "StableDiffusionXLImg2ImgPipeline",
    "stabilityai/sd-turbo": "StableDiffusionPipeline",
    "stabilityai/sdxl-turbo": "StableDiffusionXLPipeline",
}
# pipeline argument each control feeds
CONTROL_PARAMS = {  # the pipeline argument(s) each control feeds; one of them must exist
    "prompt": ("prompt",),
    "negative_prompt": ("negative_prompt",),
    "size": ("height",),
    "guidance": ("guidance_scale", "max_guidance_scale"),  # SVD guides up to max_guidance_scale
    "class_label": ("class_labels",),
    "strength": ("strength",),
    "image_guidance": ("image_guidance_scale",),
    "noise_level": ("noise_level",),
    "motion_bucket_id": ("motion_bucket_id",),
    "noise_aug": ("noise_aug_strength",),
    "truncation": ("truncation_psi",),  # genart's StyleGAN
}


def test_at_least_fifteen_distinct_checkpoints():
    assert len({s.repo for s in REGISTRY}) >= 15


def test_required_checkpoints_present_with_their_pipeline_class():
    pairs = {(s.repo, s.pipeline) for s in REGISTRY}
    for repo, cls in REQUIRED_REPOS.items():
        assert (repo, cls) in pairs, repo
    assert {s.family for s in REGISTRY} >= {"sd", "sdxl", "turbo", "ddpm", "ddim", "score-sde", "ldm", "dit"}
    assert any(s.pipeline in {"PixArtSigmaPipeline", "StableDiffusion3Pipeline", "FluxPipeline"} for s in REGISTRY)
    assert REGISTRY.get("sdxl-base").refiner == "sdxl-refiner"


@pytest.mark.parametrize("model_id", REGISTRY.ids())
def test_entry_is_well_formed(model_id):
    spec = REGISTRY.get(model_id)
    assert spec.name and spec.licence and spec.verified and spec.memory_gb > 0
    assert "/" in spec.repo and spec.revision
    assert set(spec.tasks) <= set(TASKS) and spec.tasks
    assert spec.kind in KINDS
    if spec.kind in ("pipeline", "model"):
        assert hasattr(diffusers, spec.pipeline), spec.pipeline
        assert spec.pipeline.endswith("Pipeline") == (spec.kind == "pipeline"), (spec.id, spec.kind)
    elif spec.kind == "gan":
        assert spec.pipeline in GAN_CLASSES
    else:
        assert spec.pipeline == "spandrel" and spec.file and spec.scale
    d = spec.defaults
    assert d.scheduler in SAMPLERS
    # a denoising model's default sampler is one it offers; a one-pass model (GAN, upscaler) offers none
    assert d.scheduler in spec.samplers() if spec.denoises else spec.samplers() == []
    assert 1 <= d.steps <= 500
    if "size" in spec.controls():
        assert d.size_min <= d.width <= d.size_max and d.width % d.size_multiple == 0
    assert set(spec.hide) <= set(CONTROLS)
    if spec.refiner:
        assert spec.refiner in REGISTRY


@pytest.mark.parametrize("model_id", REGISTRY.ids())
def test_controls_are_arguments_the_pipeline_takes(model_id):
    spec = REGISTRY.get(model_id)
    image_task = set(spec.tasks) & {"image-to-image", "inpaint", "super-resolve"}
    ignored = {"scheduler", "size"} if image_task else {"scheduler"}  # image tasks fit the input to the size
    if not spec.denoises:  # a GAN: no sampling controls but its own (a StyleGAN's truncation)
        assert spec.controls() - {"prompt", "negative_prompt", "truncation"} == frozenset(), spec.id
        if spec.kind != "gan":  # an upscaler or bare model: no call signature of its own to check
            return
    params = pipeline_params(spec.pipeline)
    for control in spec.controls() - ignored - ({"prompt", "negative_prompt"} if not spec.denoises else set()):
        assert set(CONTROL_PARAMS[control]) & params, (control, spec.pipeline)


def test_every_model_runs_offline_and_every_kind_loads():
    from genart_demo.tiny.builders import STANDIN_BUILDERS

    assert set(LOADERS) == set(KINDS)  # each kind has its loader: the one place that branches on it
    assert all(offline_capable(s) for s in REGISTRY)
    missing = {s.standin_class for s in REGISTRY if s.kind in ("pipeline", "model")} - set(STANDIN_BUILDERS)
    assert not missing  # GAN and upscaler stand-ins are built by genart_demo.gan / genart_demo.sr


def test_unknown_id_names_the_known_ones():
    with pytest.raises(UnknownModelError, match="Known models: .*sd15"):
        REGISTRY.get("sd99")


def test_for_tasks_filters():
    ids = {s.id for s in REGISTRY.for_tasks(["class-conditional"])}
    assert ids == {"dit-xl-256", "dit-xl-512"}


def test_autoencoders_serve_only_the_round_trip():
    autoencoders = REGISTRY.for_tasks(["autoencode"])
    assert {s.id for s in autoencoders} >= {"sd-vae-ft-mse", "sdxl-vae", "ldm-vq-f4"}
    assert TASK_CONTROLS["autoencode"] == ()
    other_tabs = [t for t in TASKS if t != "autoencode"]
    assert not {s.id for s in REGISTRY.for_tasks(other_tabs)} & {s.id for s in autoencoders}  # no other tab lists them
    for spec in autoencoders:
        assert spec.tasks == ("autoencode",) and spec.controls() == frozenset()
        assert (spec.pipeline, spec.family) in {("AutoencoderKL", "vae"), ("VQModel", "vq-vae")}, spec.id
        d = spec.defaults
        assert d.size_min % d.size_multiple == 0 and d.size_max % d.size_multiple == 0
        assert d.size_min <= d.width <= d.size_max and d.width % d.size_multiple == 0 and d.height == d.width
    assert [s.subfolder for s in REGISTRY if s.subfolder] == ["vae", "vqvae"]  # only bare models use one
