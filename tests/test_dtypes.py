"""Half precision on CPU: pipelines that make float32 noise (score SDE-VE, unconditional LDM) run in fp16 and bf16."""

from dataclasses import replace

import pytest
import torch

from genart_demo.dtypes import cast_inputs
from genart_demo.loading import dtype_for, load_pipeline
from genart_demo.registry import Registry

REGISTRY = Registry.load()


@pytest.mark.parametrize(
    "model_id, gpu_dtype",
    [("ncsnpp-celebahq", "float16"), ("ncsnpp-celebahq", "bfloat16"), ("ldm-celebahq", "float16")],
)  # (LDMPipeline itself cannot turn a bf16 image into numpy; its entry runs in fp16)
def test_float32_noise_pipelines_run_in_half_precision(model_id, gpu_dtype, settings):
    """Regression: both pipelines made float32 noise and crashed with "Input type (float) and bias type (c10::Half)
    should be the same" on any GPU or MPS."""
    spec = replace(REGISTRY.get(model_id), gpu_dtype=gpu_dtype)
    gpu = replace(settings, dtype="gpu")  # the entry's GPU dtype, here on the CPU
    assert dtype_for("cpu", spec, gpu.dtype) == getattr(torch, gpu_dtype)
    pipe = load_pipeline(spec, standin=True, device="cpu", settings=gpu)
    assert pipe.unet.dtype == getattr(torch, gpu_dtype)
    out = pipe(num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="np")
    images = out.images
    assert images.shape[0] == 1 and images.shape[-1] == 3
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0 and images.std() > 0


def test_cast_inputs_follows_the_module_dtype_and_keeps_timesteps():
    seen = []

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float16))

        def forward(self, sample, t, hidden=None):
            seen.append((sample.dtype, t.dtype, None if hidden is None else hidden.dtype))
            return sample

    probe = Probe()
    cast_inputs(probe)
    cast_inputs(probe)  # idempotent: one wrapper, not two
    probe(torch.zeros(1, 3, 4, 4), torch.tensor([981.5]), hidden=torch.zeros(1, 2, 3))
    probe.float()  # an fp32 upcast (as SDXL's VAE does) is followed at call time
    probe(torch.zeros(1, 3, 4, 4, dtype=torch.float16), torch.tensor([981.5]))
    assert seen == [(torch.float16, torch.float32, torch.float16), (torch.float32, torch.float32, None)]


def test_cast_inputs_uses_the_dtype_the_library_reports_over_float32_kept_parameters():
    """Wan's transformer keeps its first parameter (scale_shift_table) in float32 under bfloat16; the pipeline hands
    it bfloat16 latents, which must stay bfloat16 for its bfloat16 patch embedding."""
    seen = []

    class Kept(torch.nn.Module):
        dtype = torch.bfloat16  # as diffusers' ModelMixin.dtype reports it, skipping _keep_in_fp32_modules

        def __init__(self):
            super().__init__()
            self.scale_shift_table = torch.nn.Parameter(torch.zeros(1))  # float32, listed first
            self.weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.bfloat16))

        def forward(self, sample):
            seen.append(sample.dtype)
            return sample

    kept = Kept()
    cast_inputs(kept)
    kept(torch.zeros(1, 3, 4, 4, dtype=torch.bfloat16))
    assert seen == [torch.bfloat16]
