"""Memory plans against measured peaks: full-size models from the real configs, random weights, on a CUDA GPU.

    .venv/bin/python benchmarks/memory_plan.py [--models sdxl-base flux-schnell cogvideox-2b] [--steps 3] [--json out]

For each entry, every component is built at full size from its committed config (genart_demo/hubfacts) with random
weights in the dtype it runs in, all of them on the GPU ("on GPU", as the plan's need(ON_GPU) assumes), and each stage
of one call at the entry's default size runs the forward the plan traced (genart_demo/memory_calls.py, random
inputs). Per stage it prints:
  traced     the plan's peak of live activations (meta-device trace; VAE tiling/slicing: one tile or item + kept bytes)
  allocated  torch.cuda.max_memory_allocated over what was allocated before the call: checks the trace
  reserved   torch.cuda.max_memory_reserved over the reserve before it: checks ACTIVATION_SLACK (reserved / traced)
VAE stages run plain and with each option diffusers has (its real tiling and slicing code, not the one-tile trace).
Then: the CUDA context (the device's used memory less torch's reserve, against CUDA_RESERVE_BYTES), the call's peak
as planned against the measured one (weights + the largest stage's reserved + context), and images/s in the run
dtype (fp16, or bf16 for FLUX): batch / (text encoders + default steps x one denoiser step + VAE), the step timed
over --steps steps after a warm-up.

Without a CUDA GPU it says so and prints only the plans.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genart_demo.memory import (  # noqa: E402
    ACTIVATION_SLACK,
    CUDA_RESERVE_BYTES,
    GIB,
    ON_GPU,
    PLAN_GB,
    call_shape,
    encodes_image,
    plan_memory,
    set_vae_options,
)
from genart_demo.registry import Registry  # noqa: E402

DEFAULT_MODELS = ("sdxl-base", "flux-schnell", "cogvideox-2b")


def gib(n: float) -> str:
    return f"{n / GIB:6.2f}"


def print_plans(specs, vram: float) -> None:
    for spec in specs:
        plan = plan_memory(spec, vram)
        print(plan.summary())
        for s in plan.stages:
            print(f"  {s.name:24s} traced " + "  ".join(f"{k} {gib(v)} GiB" for k, v in s.activations.items()))


def measure_call(run) -> tuple[int, int, float]:
    """(peak allocated, peak reserved) over the state before `run()`, and its seconds."""
    import torch

    torch.cuda.synchronize()
    allocated, reserved = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    with torch.no_grad():
        out = run()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    del out
    return torch.cuda.max_memory_allocated() - allocated, torch.cuda.max_memory_reserved() - reserved, seconds


def bench_entry(spec, steps: int) -> dict:
    import torch

    from genart_demo import memory_stages
    from genart_demo.memory_calls import make_call
    from genart_demo.memory_meta import build_model

    total_gb = torch.cuda.get_device_properties(0).total_memory / GIB
    plan = plan_memory(spec, total_gb)
    shape = call_shape(spec)
    comps, calls = memory_stages.stage_calls(spec, "cuda", shape, encodes_image=encodes_image(spec), decodes=True)
    traced = {f"{s.name}": s.activations for s in plan.stages}
    torch.manual_seed(0)
    models = {c.src.name: None for c in calls}
    for c in calls:  # one copy of each component, in the dtype it is loaded in (the upcast VAE is cast per stage)
        if models[c.src.name] is None:
            loaded = next(x.dtype for x in comps if x.name == c.src.name)
            models[c.src.name] = build_model(*c.src.key(), loaded, "cuda")
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    free, total = torch.cuda.mem_get_info()
    context = (total - free) - torch.cuda.memory_reserved()
    weights, weights_reserved = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
    rows, largest_reserved, seconds = [], 0, {}
    for c in calls:
        model = models[c.src.name]
        loaded_dtype = next(model.parameters()).dtype
        if c.dtype == "float32" and loaded_dtype != torch.float32:
            model.to(torch.float32)  # the pipeline's upcast VAE
        for option in c.variants:
            set_vae_options(SimpleNamespace(vae=model), option)  # plain first; a denoiser or encoder has none
            run = make_call(model, c.variants["plain"][0])  # the real call: diffusers tiles or slices it itself
            if run is None:
                continue
            if c.name == "denoise":
                measure_call(run)  # warm-up (cuDNN/cuBLAS plans)
                timings = [measure_call(run) for _ in range(steps)]
                alloc, res = max(t[0] for t in timings), max(t[1] for t in timings)
                seconds[c.name] = sum(t[2] for t in timings) / steps
            else:
                alloc, res, took = measure_call(run)
                seconds.setdefault(c.name, took)
            largest_reserved = max(largest_reserved, res + (c.extra_weights if option == "plain" else 0))
            rows.append((c.name, option, traced[c.name][option], alloc, res))
            del run
        set_vae_options(SimpleNamespace(vae=model), "plain")
        model.to(loaded_dtype)
        torch.cuda.empty_cache()
    denoise = seconds.get("denoise", 0.0)
    other = sum(v for k, v in seconds.items() if k != "denoise")
    per_call = other + spec.defaults.steps * denoise
    measured_peak = weights_reserved + largest_reserved + context
    print(f"\n{spec.id} at {shape.width}x{shape.height}" + (f", {shape.frames} frames" if shape.frames else ""))
    print(f"  {'stage':22s} {'option':13s} {'traced':>8s} {'allocated':>10s} {'reserved':>9s}  reserved/traced")
    for name, option, t, a, r in rows:
        print(f"  {name:22s} {option:13s} {gib(t)}  {gib(a)}    {gib(r)}   {r / t if t else float('nan'):.2f}")
    print(f"  weights: planned {gib(plan.weights_bytes)} GiB, allocated {gib(weights)} GiB")
    print(f"  CUDA context: {gib(context)} GiB (planned reserve {gib(CUDA_RESERVE_BYTES)} GiB)")
    print(f"  peak on GPU: planned {gib(plan.need(ON_GPU))} GiB, measured {gib(measured_peak)} GiB")
    print(f"  {spec.defaults.steps} steps: {per_call:.2f} s per call, {shape.batch / per_call:.3f} images/s")
    models.clear()
    torch.cuda.empty_cache()
    return {
        "model": spec.id,
        "stages": [dict(zip(("stage", "option", "traced", "allocated", "reserved"), r)) for r in rows],
        "weights_planned": plan.weights_bytes,
        "weights_allocated": weights,
        "context": context,
        "peak_planned": plan.need(ON_GPU),
        "peak_measured": measured_peak,
        "slack_planned": ACTIVATION_SLACK,
        "step_seconds": denoise,
        "images_per_second": shape.batch / per_call,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="registry ids")
    parser.add_argument("--steps", type=int, default=3, help="denoiser steps timed (after one warm-up)")
    parser.add_argument("--vram", type=float, default=PLAN_GB, help="GPU size the plans are printed for without a GPU")
    parser.add_argument("--json", help="also write the measurements to this file")
    args = parser.parse_args(argv)
    registry = Registry.load()
    specs = [registry.get(m) for m in args.models]
    import torch

    if not torch.cuda.is_available():
        print(
            f"benchmarks/memory_plan.py measures peaks on a CUDA GPU and there is none here; the plans on {args.vram:g} GB:"
        )
        print_plans(specs, args.vram)
        return 0
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    results = [bench_entry(spec, args.steps) for spec in specs]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
