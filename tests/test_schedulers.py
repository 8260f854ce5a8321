"""The sampler table: required names, families true to diffusers, building and refusing schedulers."""

import inspect

import diffusers
import pytest
import torch

from genart_demo.hubfacts import repo_facts
from genart_demo.registry import Registry
from genart_demo.scheduler_classes import noise_seeds
from genart_demo.schedulers import SAMPLERS, SchedulerError, build_scheduler, compatible_samplers
from genart_demo.tasks.common import use_sampler

REGISTRY = Registry.load()
OVERRIDDEN = [spec for spec in REGISTRY if spec.scheduler_overrides]

REQUIRED = [
    "DDPM",
    "DDIM",
    "PNDM",
    "Euler",
    "Euler a",
    "Heun",
    "DPM++ 2M",
    "DPM++ 2M Karras",
    "DPM++ SDE",
    "UniPC",
    "LCM",
]


def test_required_samplers_present():
    assert set(REQUIRED) <= set(SAMPLERS)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_family_matches_diffusers_compatibles(name):
    """Samplers share a family exactly when diffusers says their classes are interchangeable (LCM aside:
    diffusers lists it alone, but it runs on any eps/v-prediction UNet)."""
    cls = getattr(diffusers, SAMPLERS[name].scheduler_class)
    compatibles = set(getattr(cls, "_compatibles", ())) | {cls.__name__}
    for other in compatible_samplers(name):
        other_cls = SAMPLERS[other].scheduler_class
        if "LCMScheduler" in {other_cls, cls.__name__}:
            continue
        assert other_cls in compatibles, (name, other)


@pytest.mark.parametrize("name", compatible_samplers("PNDM"))
def test_builds_from_a_checkpoint_config(name):
    base = diffusers.PNDMScheduler(beta_schedule="scaled_linear", skip_prk_steps=True).config
    scheduler = build_scheduler(name, base, compatible_samplers("PNDM"))
    assert isinstance(scheduler, getattr(diffusers, SAMPLERS[name].scheduler_class))
    assert scheduler.config.beta_schedule == "scaled_linear"  # the checkpoint's own settings carry over
    for key, value in SAMPLERS[name].overrides.items():
        assert scheduler.config[key] == value


def test_karras_override_applied():
    base = diffusers.EulerDiscreteScheduler().config
    s = build_scheduler("DPM++ 2M Karras", base, compatible_samplers("Euler"))
    assert s.config.use_karras_sigmas is True and s.config.algorithm_type == "dpmsolver++"


def test_incompatible_refused_with_the_compatible_list():
    with pytest.raises(SchedulerError, match=r"Compatible schedulers: Flow Euler\."):
        build_scheduler("Euler", diffusers.FlowMatchEulerDiscreteScheduler().config, compatible_samplers("Flow Euler"))


def test_unknown_refused_with_the_known_list():
    with pytest.raises(SchedulerError, match="Known schedulers: DDPM, DDIM"):
        compatible_samplers("Euler b")


def test_explicit_list_wins():
    assert compatible_samplers("DDIM", ("DDIM",)) == ["DDIM"]


def _checkpoint_config(spec) -> dict:
    """The config of the scheduler the real repo loads with, read from its committed Hub facts (as from_pretrained
    reads it: keys the file leaves out are listed in `_use_default_values`)."""
    raw = repo_facts(spec.repo, spec.revision).json("scheduler/scheduler_config.json")
    return dict(getattr(diffusers, raw["_class_name"]).from_config(raw).config)


def _init_keys(scheduler) -> set[str]:
    return set(inspect.signature(type(scheduler).__init__).parameters) - {"self"}


def test_overrides_stick_for_a_key_the_checkpoint_leaves_out():
    """Merged into the config dict, an override of a key listed in `_use_default_values` is silently dropped by
    diffusers; build_scheduler passes overrides as keyword arguments, so it sticks."""
    base = _checkpoint_config(REGISTRY.get("sd15"))
    assert "timestep_spacing" in base["_use_default_values"]  # SD 1.5's file predates timestep_spacing
    assert diffusers.DDIMScheduler.from_config({**base, "timestep_spacing": "linspace"}).config.timestep_spacing == (
        "leading"
    )  # the pitfall itself
    built = build_scheduler("DDIM", base, ["DDIM"], {"timestep_spacing": "linspace", "beta_schedule": "linear"})
    assert (built.config.timestep_spacing, built.config.beta_schedule) == ("linspace", "linear")


def test_sampler_overrides_win_over_the_models():
    built = build_scheduler(
        "DPM++ 2M", diffusers.EulerDiscreteScheduler().config, ["DPM++ 2M"], {"use_karras_sigmas": True}
    )
    assert built.config.use_karras_sigmas is False  # "DPM++ 2M" means no Karras sigmas, whatever the model sets


@pytest.mark.parametrize("spec", OVERRIDDEN, ids=[s.id for s in OVERRIDDEN])
def test_registry_overrides_stick_for_every_sampler(spec):
    """Every key of an entry's `scheduler_overrides` is one its default sampler takes (a misspelt key would be
    dropped by diffusers with only a warning) and has the entry's value in every sampler built for it."""
    base = _checkpoint_config(spec)
    native = build_scheduler(spec.defaults.scheduler, base, spec.samplers(), spec.scheduler_overrides)
    assert set(spec.scheduler_overrides) <= _init_keys(native)
    for name in spec.samplers():
        built = build_scheduler(name, base, spec.samplers(), spec.scheduler_overrides)
        for key, value in spec.scheduler_overrides.items():
            if key in _init_keys(built) and key not in SAMPLERS[name].overrides:
                assert built.config[key] == value, (name, key)


def test_animatediff_samples_with_its_documented_scheduler():
    """The diffusers AnimateDiff docs: the base repo's scheduler with linear betas, linspace spacing, no clipping,
    steps_offset 1 (SD 1.5's own config says scaled_linear, leading)."""
    spec = REGISTRY.get("animatediff-sd15")
    assert dict(spec.scheduler_overrides) == {
        "beta_schedule": "linear",
        "clip_sample": False,
        "steps_offset": 1,
        "timestep_spacing": "linspace",
    }
    ddim = build_scheduler("DDIM", _checkpoint_config(spec), spec.samplers(), spec.scheduler_overrides)
    assert (ddim.config.beta_start, ddim.config.beta_end) == (0.00085, 0.012)  # from the SD 1.5 config
    ddim.set_timesteps(25)
    assert ddim.timesteps[:2].tolist() == [999, 957]  # linspace: from the last training step (leading: 961, 921)


def test_animatediff_standin_builds_the_same_scheduler_as_the_real_repo(studio):
    """The stand-in ships the base repo's scheduler and gets the registry's overrides the same way, so the sampler
    it runs has the config the real checkpoint's would (the stand-in once baked in its own)."""
    spec = REGISTRY.get("animatediff-sd15")
    entry = studio.cache.get(spec)
    before = entry.pipe.scheduler, entry.sampler
    try:
        for name in ("DDIM", "Euler", "DPM++ 2M Karras"):
            use_sampler(entry, name)
            real = build_scheduler(name, _checkpoint_config(spec), spec.samplers(), spec.scheduler_overrides)
            keys = _init_keys(real)
            assert {k: entry.pipe.scheduler.config[k] for k in keys} == {k: real.config[k] for k in keys}, name
    finally:
        entry.pipe.scheduler, entry.sampler = before  # the session's pipeline as other tests expect it


def test_noise_seeds_per_image_from_the_generators_or_the_starting_noise():
    sample = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    gens = [torch.Generator().manual_seed(7 + i) for i in range(3)]
    assert noise_seeds(gens, sample) == [7, 8, 9]  # image i: seed + i, as the tasks seed generator i
    assert noise_seeds(gens[:1], sample) == 7  # fewer generators than rows: one seed for all
    assert noise_seeds(gens[0], sample[:1]) == [7]
    from_noise = noise_seeds(None, torch.cat([sample, sample[:1]]))
    assert from_noise == noise_seeds(None, torch.cat([sample, sample[:1]]))  # the same noise, the same seeds
    assert len(set(from_noise)) == 3 and from_noise[3] == from_noise[0]
