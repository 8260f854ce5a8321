"""A grid costs no more than its cells made one by one: the same cells through run_grid and through generate() one at
a time, printing the ratio (one-by-one seconds / grid seconds; >= 1 expected) and the text-encoder forward calls of
each (the grid encodes each distinct prompt once per model; one by one, every cell encodes again).

    .venv/bin/python benchmarks/grid_shared_work.py [--model sd15] [--x "seed: 1-4"] [--y "guidance: 3, 5, 7"]
                                                    [--steps 2] [--repeats 3]

Both sides run the same cells on the same warm stand-in in one process, alternating; the medians are compared.
Offline, on tiny stand-ins (GENART_OFFLINE=1), one CPU thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("GENART_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genart_demo.settings import Settings
from genart_demo.studio import Studio
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tasks.grid import GridRequest, plan_cells, run_grid
from genart_demo.tasks.grid_axes import Axis
from genart_demo.tasks.prompt_length import TOKENIZER_ATTRS

ENCODERS = tuple(attr.replace("tokenizer", "text_encoder") for attr in TOKENIZER_ATTRS)


def count_encoder_calls(pipe) -> Counter:
    """A counter the pipeline's text encoders add one to per forward call (counter["calls"])."""
    counter = Counter()
    for name in ENCODERS:
        encoder = getattr(pipe, name, None)
        if encoder is not None:
            encoder.register_forward_hook(lambda *_: counter.update(["calls"]))
    return counter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sd15")
    parser.add_argument("--x", default="seed: 1-4")
    parser.add_argument("--y", default="guidance: 3, 5, 7")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch  # lazy: after the argument parsing, so --help is instant

    torch.set_num_threads(1)
    out = Path(tempfile.mkdtemp(prefix="genart-bench-grid-"))
    studio = Studio.create(replace(Settings.from_env(), output_dir=out))
    base = GenerateRequest(model=args.model, prompt="a lighthouse at dawn, oil painting", steps=args.steps, seed=7)
    request = GridRequest(base, (Axis.from_text(args.x), Axis.from_text(args.y)))
    cells = [c.request for c in plan_cells(request)]
    models = sorted({c.model for c in cells})
    counters = {m: count_encoder_calls(studio.cache.get(studio.registry.get(m)).pipe) for m in models}
    run_grid(studio, request)  # warm: every model loaded, first calls made

    def encoder_calls() -> int:
        return sum(c["calls"] for c in counters.values())

    grid_s, alone_s, grid_calls, alone_calls = [], [], 0, 0
    for _ in range(args.repeats):
        before, started = encoder_calls(), time.perf_counter()
        run_grid(studio, request)
        grid_s.append(time.perf_counter() - started)
        grid_calls = encoder_calls() - before
        before, started = encoder_calls(), time.perf_counter()
        for cell in cells:
            generate(studio, cell)
        alone_s.append(time.perf_counter() - started)
        alone_calls = encoder_calls() - before
    grid, alone = statistics.median(grid_s), statistics.median(alone_s)
    print(f"{len(cells)} cells of {', '.join(models)} at {args.steps} steps, median of {args.repeats}:")
    print(f"  grid        {grid:7.2f} s   text-encoder calls {grid_calls}")
    print(f"  one by one  {alone:7.2f} s   text-encoder calls {alone_calls}")
    print(f"ratio (one by one / grid): {alone / grid:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
