"""Stand-ins sample with the scheduler their real repo ships (class and config from genart_demo/hubfacts)."""

import pytest

from genart_demo.hubfacts import repo_facts
from genart_demo.registry import Registry
from genart_demo.tasks.common import use_sampler

REGISTRY = Registry.load()


def test_sd15_standin_ddim_does_not_clip_as_the_real_one(studio):
    """Regression: the stand-in's scheduler config lacked `clip_sample: false`, so offline DDIM clipped x0 to [-1, 1]
    and real DDIM does not."""
    entry = studio.cache.get(REGISTRY.get("sd15"))
    assert entry.standin and entry.scheduler_config["clip_sample"] is False
    use_sampler(entry, "DDIM")
    assert type(entry.pipe.scheduler).__name__ == "DDIMScheduler" and entry.pipe.scheduler.config.clip_sample is False
    assert entry.pipe.scheduler.config.beta_schedule == "scaled_linear"


@pytest.mark.parametrize(
    "model_id, key, value", [("sd21", "prediction_type", "v_prediction"), ("sd-turbo", "timestep_spacing", "trailing")]
)
def test_standin_scheduler_keys_match_the_real_repo(studio, model_id, key, value):
    spec = REGISTRY.get(model_id)
    cls_name, real = repo_facts(spec.repo, spec.revision).scheduler()
    assert real[key] == value
    entry = studio.cache.get(spec)
    assert type(entry.pipe.scheduler).__name__ == cls_name and entry.scheduler_config[key] == value


@pytest.mark.parametrize("spec", [s for s in REGISTRY if s.kind == "pipeline"], ids=lambda s: s.id)
def test_every_standin_scheduler_config_agrees_with_the_facts(studio, spec):
    found = repo_facts(spec.repo, spec.revision).scheduler()
    if found is None:
        pytest.skip(f"{spec.repo}: no scheduler in its committed facts")
    cls_name, real = found
    entry = studio.cache.get(spec)
    got = entry.scheduler_config
    differing = {k: (v, got.get(k)) for k, v in real.items() if not k.startswith("_") and k in got and got[k] != v}
    assert not differing, f"{spec.id}: stand-in scheduler differs from {spec.repo}: {differing}"
