"""Variation seeds as AUTOMATIC1111 defines them: a call's initial noise is slerp(strength, noise(seed), noise(variation
seed)), image i of a batch using seed + i and variation seed + i.

diffusers pipelines draw their initial noise with `randn_tensor`, imported into each pipeline's module. Rather than an
`if` per pipeline, `varied_noise` wraps that name once per module (idempotent, under a lock); the wrapper consults a
ContextVar, so a pipeline running in another thread (another entry's lock) or with no variation asked gets exactly the
original draw. The variation applies to the FIRST draw from the call's own generators only, as A1111's ImageRNG
varies its `first()` noise and draws every later noise (ancestral samplers' per-step noise) from the seed's own
generators, which the base draw advances exactly as an unvaried call does.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..errors import InputError, TaskFailed
from ..registry import ModelSpec
from .common import check_unit_interval, resolve_seed

# A1111's slerp falls back to a straight line when the two noises point (on average) the same way: acos is unstable there
LINEAR_ABOVE = 0.9995
_ORIGINAL = "_genart_original_randn"  # attribute of an installed wrapper: the randn_tensor it wraps
_INSTALL_LOCK = threading.Lock()


@dataclass
class _Variation:
    """One pipeline call's variation: its own generators, their states before the call, and what to mix in."""

    generators: list  # the call's generators (image i's at i), as passed to the pipeline
    fresh: list  # their states before the call: a draw from them in these states is the initial noise
    seeds: list[int]  # image i's variation seed
    strength: float
    drawn: bool = False  # whether the initial noise was varied

    def starts(self, generator: Any) -> bool:
        """Whether a draw with `generator` is the call's first from its own generators (an OOM retry that restored
        them draws first again, and gets the same varied noise)."""
        import torch  # lazy: only called inside a pipeline call, when torch is loaded already

        given = generator if isinstance(generator, list) else [generator]
        return (
            len(given) == len(self.generators)
            and all(a is b for a, b in zip(given, self.generators))
            and all(torch.equal(g.get_state(), state) for g, state in zip(given, self.fresh))
        )


_ACTIVE: ContextVar[_Variation | None] = ContextVar("genart_variation", default=None)


def slerp(val: float, low, high):
    """AUTOMATIC1111's `slerp` (modules/rng.py) of one image's noise, shape (C, H, W): normalised along dim 1, one
    angle omega per (C, W) column, sin((1 - val) omega) / sin omega * low + sin(val omega) / sin omega * high. When
    the mean cosine exceeds LINEAR_ABOVE it interpolates linearly; A1111 writes that line as low * val +
    high * (1 - val), weights swapped, which only ever runs for two near-identical noises (seed == variation seed),
    so here it is (1 - val) * low + val * high, which agrees at both ends."""
    import torch  # lazy: see _Variation.starts

    low_norm = low / torch.norm(low, dim=1, keepdim=True)
    high_norm = high / torch.norm(high, dim=1, keepdim=True)
    dot = (low_norm * high_norm).sum(1)
    if dot.mean() > LINEAR_ABOVE:
        return low * (1 - val) + high * val
    omega = torch.acos(dot)
    so = torch.sin(omega)
    return (torch.sin((1.0 - val) * omega) / so).unsqueeze(1) * low + (torch.sin(val * omega) / so).unsqueeze(1) * high


def mixed_noise(base, variation, strength: float):
    """Per image of a batch (dim 0), slerp(strength, base, variation) in float32 (float64 stays), cast back; strength
    0 is `base` itself and 1 `variation` itself, bit for bit."""
    import torch  # lazy: see _Variation.starts

    if strength == 0:
        return base
    if strength == 1:
        return variation
    dtype = torch.promote_types(base.dtype, torch.float32)
    images = []
    for low, high in zip(base.to(dtype), variation.to(dtype)):  # each (C, H, W), or whatever a pipeline's latents are
        shape = low.shape
        if low.dim() < 2:  # slerp works along dim 1: a flat latent is one row
            low, high = low.reshape(1, -1), high.reshape(1, -1)
        images.append(slerp(strength, low, high).reshape(shape))
    return torch.stack(images).to(base.dtype)


def _noise_modules(pipeline_class: type) -> list[ModuleType]:
    """The modules of `pipeline_class` and its bases that draw noise with diffusers' randn_tensor."""
    names = dict.fromkeys(cls.__module__ for cls in pipeline_class.__mro__)
    return [sys.modules[n] for n in names if n in sys.modules and hasattr(sys.modules[n], "randn_tensor")]


def draws_gaussian_noise(pipeline: str) -> bool:
    """Whether the diffusers pipeline class named `pipeline` draws Gaussian noise with randn_tensor (a GAN or a
    masked-token model such as aMUSEd does not, and is no diffusers class or has no randn_tensor)."""
    import diffusers  # lazy: importing diffusers takes seconds; building the app must not need it

    cls = getattr(diffusers, pipeline, None)
    return isinstance(cls, type) and bool(_noise_modules(cls))


def check_variation(spec: ModelSpec, seed: Any, strength: Any) -> float | None:
    """The variation strength a request runs with (None for 0: no variation); InputError for a strength outside
    0..1, a seed that is not -1 or 0..MAX_SEED, or a strength > 0 on a model that draws no Gaussian noise."""
    value = check_unit_interval("Variation strength", 0.0 if strength is None else strength)
    if value == 0:
        return None
    if seed is not None and seed != -1:
        try:
            resolve_seed(seed)
        except InputError as exc:
            raise InputError(f"Variation {str(exc)[0].lower()}{str(exc)[1:]}") from None
    if not draws_gaussian_noise(spec.pipeline):
        raise InputError(
            f"{spec.id} ({spec.pipeline}) starts from no Gaussian noise, so a variation seed cannot vary it: "
            "set the variation strength to 0."
        )
    return value


def _wrap(original):
    """randn_tensor as `original`, except the call's first draw from its own generators under a variation."""

    def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None, **kwargs):
        variation = _ACTIVE.get()
        if variation is None or not variation.starts(generator):
            return original(shape, generator=generator, device=device, dtype=dtype, layout=layout, **kwargs)
        base = original(shape, generator=generator, device=device, dtype=dtype, layout=layout, **kwargs)
        other = original(
            shape,
            generator=_seeded_like(generator, variation.seeds),
            device=device,
            dtype=dtype,
            layout=layout,
            **kwargs,
        )
        variation.drawn = True
        return mixed_noise(base, other, variation.strength)

    setattr(randn_tensor, _ORIGINAL, original)
    return randn_tensor


def _seeded_like(generator: Any, seeds: Sequence[int]) -> Any:
    """New generators on the same devices as `generator` (a list, or one), the i-th seeded with seeds[i]: the draws
    a call with the variation seed as its seed would make."""
    import torch  # lazy: see _Variation.starts

    given = generator if isinstance(generator, list) else [generator]
    made = [torch.Generator(g.device).manual_seed(seed) for g, seed in zip(given, seeds)]
    return made if isinstance(generator, list) else made[0]


def _install(modules: Sequence[ModuleType]) -> None:
    """Wrap each module's randn_tensor, once (a wrapped one is left as it is)."""
    with _INSTALL_LOCK:
        for module in modules:
            if not hasattr(module.randn_tensor, _ORIGINAL):
                module.randn_tensor = _wrap(module.randn_tensor)


@contextlib.contextmanager
def varied_noise(
    pipe: Any, generators: Any, seeds: int | Sequence[int] | None, strength: float | None
) -> Iterator[None]:
    """Within this block (this thread or task only), `pipe`'s initial noise drawn with `generators` (the call's
    `generator` argument: one per image, or one) is slerp(strength, noise, noise of seeds[i]) for image i (an int
    seed: image i's is seed + i); nothing changes for strength None or 0. TaskFailed if the call drew no initial
    noise from its generators (nothing was varied, so its result must not say it was)."""
    if not strength:
        yield
        return
    _install(_noise_modules(type(pipe)))
    gens = generators if isinstance(generators, list) else [generators]
    if isinstance(seeds, int):
        seeds = [seeds + i for i in range(len(gens))]
    variation = _Variation(list(gens), [g.get_state() for g in gens], list(seeds), strength)
    token = _ACTIVE.set(variation)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
    if not variation.drawn:
        raise TaskFailed(
            f"{type(pipe).__name__} drew no initial noise from its generators, so the variation seed was not applied: "
            "set the variation strength to 0."
        )


def nth_seed(seed: int | None, i: int) -> int | None:
    """Image i's variation seed (None stays None)."""
    return None if seed is None else seed + i
