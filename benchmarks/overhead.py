"""genart's overhead, as two ratios measured in this run: (a) generate() over a direct diffusers call on the same
stand-in, steps and seed (goal <= 1.03); (b) the app's cold start to first answer over a bare Gradio
hello-world's (goal <= 1.5).

    .venv/bin/python benchmarks/overhead.py [--repeats 7] [--steps 20] [--model sd15] [--starts 3]

Both sides of each ratio do the same work in the same process or on the same machine, alternating, and the
median of the repeats is compared. Runs offline on tiny stand-ins (GENART_OFFLINE=1).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("GENART_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HELLO = """
import gradio as gr, sys
def greet(name): return "Hello " + name
gr.Interface(greet, "text", "text").launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""


def generate_ratio(model_id: str, steps: int, repeats: int) -> tuple[float, float, float]:
    """(median genart seconds, median direct seconds, median of per-pair ratios) for one image on the same stand-in."""
    import numpy as np
    import torch

    from genart_demo.settings import Settings
    from genart_demo.studio import Studio
    from genart_demo.tasks.generate import GenerateRequest, generate

    out = Path(tempfile.mkdtemp(prefix="genart-bench-"))
    studio = Studio.create(replace(Settings.from_env(), output_dir=out))
    spec = studio.spec(model_id)
    request = GenerateRequest(model=model_id, prompt="a lighthouse at dawn", steps=steps, seed=7, scheduler="Euler")
    entry = studio.cache.get(studio.registry.get(model_id))
    pipe = entry.pipe

    from genart_demo.schedulers import build_scheduler

    def direct():  # the scheduler is set once, outside the timing; genart rebuilds it inside every call
        return pipe(
            prompt=["a lighthouse at dawn"],
            num_inference_steps=steps,
            guidance_scale=spec.defaults.guidance,
            height=spec.defaults.height,
            width=spec.defaults.width,
            generator=[torch.Generator("cpu").manual_seed(7)],
        ).images

    ours_first = generate(studio, request, output_dir=out).images[0]  # warm both paths once
    pipe.scheduler = build_scheduler("Euler", entry.scheduler_config, spec.samplers())
    direct_first = direct()[0]
    assert np.array_equal(np.asarray(ours_first), np.asarray(direct_first)), "the two paths must make the same image"
    ours, theirs = [], []
    for i in range(repeats):  # back-to-back pairs, alternating which goes first, so drift hits both sides
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            t = time.perf_counter()
            generate(studio, request, output_dir=out) if side == 0 else direct()
            (ours if side == 0 else theirs).append(time.perf_counter() - t)
    ratios = [a / b for a, b in zip(ours, theirs)]
    return statistics.median(ours), statistics.median(theirs), statistics.median(ratios)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_first_answer(argv: list[str], port: int, env: dict) -> float:
    """Seconds from process start until GET / answers 200."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {proc.returncode}")
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cold_start_ratio(starts: int) -> tuple[float, float, float]:
    hello = Path(tempfile.mkdtemp(prefix="genart-hello-")) / "hello.py"
    hello.write_text(HELLO)
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GENART_OUTPUT_DIR": tempfile.mkdtemp()}
    ours, theirs = [], []
    for _ in range(starts):
        port = _free_port()
        ours.append(time_to_first_answer([sys.executable, "app.py", "--port", str(port)], port, env))
        port = _free_port()
        theirs.append(time_to_first_answer([sys.executable, str(hello), str(port)], port, env))
    a, b = statistics.median(ours), statistics.median(theirs)
    return a, b, a / b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="sd15")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for (a); 1 keeps a small 2-core machine's scheduling noise out of the ratio",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)

    ours, direct, ratio = generate_ratio(args.model, args.steps, args.repeats)
    print(
        f"(a) generate() {ours * 1000:.1f} ms vs direct diffusers {direct * 1000:.1f} ms "
        f"[{args.model} stand-in, {args.steps} steps, {args.repeats} pairs, {args.threads} thread(s)]: "
        f"median pair ratio {ratio:.3f} (goal <= 1.03)"
    )
    ours, hello, ratio = cold_start_ratio(args.starts)
    print(
        f"(b) app cold start {ours:.2f} s vs Gradio hello-world {hello:.2f} s to first answer "
        f"[median of {args.starts}]: ratio {ratio:.3f} (goal <= 1.5)"
    )


if __name__ == "__main__":
    main()
