"""The sampler table: required names, families true to diffusers, building and refusing schedulers."""

import diffusers
import pytest

from genart_demo.schedulers import SAMPLERS, SchedulerError, build_scheduler, compatible_samplers

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
    assert type(scheduler).__name__ == SAMPLERS[name].scheduler_class
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
