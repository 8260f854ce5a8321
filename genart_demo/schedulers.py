"""The sampler table: A1111-style sampler names mapped to diffusers scheduler classes and config overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Sampler:
    """One entry of the sampler table."""

    name: str  # what people pick, e.g. "DPM++ 2M Karras"
    scheduler_class: str  # diffusers class name, e.g. "DPMSolverMultistepScheduler"
    family: str  # samplers of one family are interchangeable on a checkpoint (diffusers' `_compatibles`)
    overrides: Mapping[str, Any] = field(default_factory=dict)  # applied on top of the checkpoint's own config
    # Offered only to entries that name it (in `schedulers`, or as their default): it runs on any checkpoint of its
    # family but gives usable images only with weights distilled for it (LCM on a plain SD model is a blur).
    named_only: bool = False


SAMPLERS: Mapping[str, Sampler] = MappingProxyType(
    {
        s.name: s
        for s in (
            Sampler("DDPM", "DDPMScheduler", "eps"),
            Sampler("DDIM", "DDIMScheduler", "eps"),
            Sampler("PNDM", "PNDMScheduler", "eps", {"skip_prk_steps": True}),  # PLMS, as SD checkpoints ship it
            Sampler("Euler", "EulerDiscreteScheduler", "eps"),
            Sampler("Euler a", "EulerAncestralDiscreteScheduler", "eps"),
            Sampler("Heun", "HeunDiscreteScheduler", "eps"),
            Sampler("LMS", "LMSDiscreteScheduler", "eps"),
            Sampler(
                "DPM++ 2M",
                "DPMSolverMultistepScheduler",
                "eps",
                {"algorithm_type": "dpmsolver++", "use_karras_sigmas": False},
            ),
            Sampler(
                "DPM++ 2M Karras",
                "DPMSolverMultistepScheduler",
                "eps",
                {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
            ),
            Sampler("DPM++ SDE", "DPMSolverSDEScheduler", "eps", {"use_karras_sigmas": False}),
            Sampler("DPM++ SDE Karras", "DPMSolverSDEScheduler", "eps", {"use_karras_sigmas": True}),
            Sampler("UniPC", "UniPCMultistepScheduler", "eps"),
            Sampler("LCM", "LCMScheduler", "eps", named_only=True),  # runs on any eps/v model; needs LCM weights
            Sampler("Score SDE-VE", "ScoreSdeVeScheduler", "sde-ve"),
            Sampler("Flow Euler", "FlowMatchEulerDiscreteScheduler", "flow"),
            Sampler("CogVideoX DDIM", "CogVideoXDDIMScheduler", "cogvideox-ddim"),  # CogVideoX entries list both
            Sampler("CogVideoX DPM", "CogVideoXDPMScheduler", "cogvideox-dpm"),
            Sampler("aMUSEd", "AmusedScheduler", "masked"),  # unmasks VQ tokens by confidence: masked models only
        )
    }
)


class SchedulerError(ValueError):
    """An unknown sampler name, or one the chosen model cannot use."""


def sampler(name: str) -> Sampler:
    """The table entry for a sampler name; unknown names are refused with the list of known ones."""
    try:
        return SAMPLERS[name]
    except KeyError:
        known = ", ".join(SAMPLERS)
        raise SchedulerError(f"Unknown scheduler {name!r}. Known schedulers: {known}.") from None


def compatible_samplers(native: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Sampler names a model can use, in table order.

    `native` is the model's default sampler; `allowed`, when a registry entry gives it, is the
    explicit list (pipelines that pass one scheduler's own step arguments, such as DDIMPipeline's
    `eta`). Otherwise every sampler of the native one's family, except those offered only where named
    (`Sampler.named_only`, e.g. LCM) unless it is the native one. Pure data: imports no diffusers.
    """
    if allowed:
        return [name for name in SAMPLERS if name in allowed]
    family = sampler(native).family
    return [name for name, s in SAMPLERS.items() if s.family == family and (not s.named_only or name == native)]


def build_scheduler(
    name: str, base_config: Mapping[str, Any], compatible: list[str], model_overrides: Mapping[str, Any] | None = None
):
    """A fresh scheduler for `name` built from a checkpoint's own scheduler config.

    `base_config` must be the checkpoint's original config (not one already overridden), so switching samplers
    back and forth never drifts. `model_overrides` (a registry entry's `scheduler_overrides`) correct that config
    for the model, and the sampler's own overrides go last. Both are passed to `from_config` as keyword
    arguments: merged into the config dict instead, a key the checkpoint's file leaves out (listed in the
    config's `_use_default_values`) would be dropped in favour of the class default.
    """
    entry = sampler(name)
    if name not in compatible:
        raise SchedulerError(
            f"Scheduler {name!r} does not work with this model. Compatible schedulers: {', '.join(compatible)}."
        )
    from .scheduler_classes import scheduler_class  # lazy: imports diffusers, which takes seconds

    overrides = {**dict(model_overrides or {}), **dict(entry.overrides)}
    return scheduler_class(entry.scheduler_class).from_config(dict(base_config), **overrides)
