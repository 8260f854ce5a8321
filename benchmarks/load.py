"""Load on the studio: N concurrent gradio_client users for a while; completed/failed counts, latency, peak memory.

    .venv/bin/python benchmarks/load.py [--users 16] [--seconds 180] [--json load.json]

Launches `python app.py` offline on tiny stand-ins (its own output folder and port), then each user loops over a
mix of real requests — generate (sd15 and sd-turbo, 2-4 steps, 64x64), compare, an image-vs-reference evaluation,
and an arena battle with its vote — until the time is up. A request either completes or gets an error answer; an
error counts as "refused" when it is the queue's "full" answer (the studio's clear back-pressure) and as "failed"
otherwise. The server's resident memory (with its children) is sampled every half second: peak, the level after the
first quarter of the run (warm, every model loaded), and their ratio, which stays near 1 when memory is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(out: Path, log_path: Path, env_extra: dict | None = None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "GENART_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "GENART_OUTPUT_DIR": str(out),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GENART_ARENA_MODELS": "sd15,sd-turbo",
        **(env_extra or {}),
    }
    log = open(log_path, "w")  # noqa: SIM115  (the server writes to it until it is stopped)
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"app exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("app did not answer within 180 s")


def rss_bytes(pid: int) -> int:
    """Resident memory of the process and its children."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.Error:
        return 0


def _reference_png(folder: Path) -> str:
    import numpy as np
    from PIL import Image

    path = folder / "reference.png"
    y, x = np.mgrid[0:64, 0:64]
    Image.fromarray(np.stack([x * 4, y * 4, (x + y) * 2], -1).clip(0, 255).astype(np.uint8)).save(path)
    return str(path)


def requests_for(rng: random.Random, reference: str):
    """One user's next request: (name, callable(client) -> None). Settings are small so a run stays minutes long."""
    from gradio_client import handle_file

    prompt = rng.choice(["a red fox", "a lighthouse at dawn", "a bowl of soup", "a paper boat"])
    seed = rng.randrange(1000)
    choice = rng.random()
    if choice < 0.45:
        model, scheduler = rng.choice([("sd15", "Euler"), ("sd-turbo", "Euler a")])
        return "generate", lambda c: c.predict(
            model, prompt, "", "", rng.randint(2, 4), 5.0, 64, 64, seed, 1, scheduler, False, api_name="/generate"
        )
    if choice < 0.6:
        return "compare", lambda c: c.predict(
            ["sd15", "sd-turbo"], prompt, "", "", 2, 5.0, 64, 64, seed, "Euler", True, api_name="/compare"
        )  # True: each model's own defaults
    if choice < 0.75:
        return "evaluate_pair", lambda c: c.predict(
            handle_file(reference), handle_file(reference), ["psnr", "ssim", "lpips"], api_name="/evaluate_pair"
        )

    def battle(c):
        token = c.predict(prompt, api_name="/arena_battle")[2]
        c.predict(token, rng.choice(["a", "b", "tie", "bothbad"]), api_name="/arena_vote")

    return "arena", battle


def run_load(url: str, users: int, seconds: float, reference: str, seed: int = 0) -> list[dict]:
    """Every request the users made: {"kind", "ok", "refused", "seconds", "error"}."""
    from gradio_client import Client

    records: list[dict] = []
    lock = threading.Lock()
    stop_at = time.time() + seconds

    def user(index: int):
        rng = random.Random(seed * 1000 + index)
        client = Client(url, verbose=False)
        while time.time() < stop_at:
            kind, call = requests_for(rng, reference)
            started = time.perf_counter()
            ok, refused, error = True, False, ""
            try:
                call(client)
            except Exception as exc:  # noqa: BLE001  (an answer that is an error: classified, never hidden)
                ok, error = False, f"{type(exc).__name__}: {exc}"[:300]
                refused = "queue is full" in error.lower()
            with lock:
                records.append(
                    {
                        "kind": kind,
                        "ok": ok,
                        "refused": refused,
                        "error": error,
                        "seconds": time.perf_counter() - started,
                    }
                )

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 600)
    return records


def summary(records: list[dict], memory: list[tuple[float, int]], seconds: float, alive: bool) -> dict:
    latencies = sorted(r["seconds"] for r in records if r["ok"])
    warm_at = memory[0][0] + seconds / 4 if memory else 0.0
    warm = [m for t, m in memory if t >= warm_at]
    peak = max((m for _, m in memory), default=0)
    after_warm_up = warm[0] if warm else peak

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {
        "users": None,
        "seconds": seconds,
        "requests": len(records),
        "completed": sum(r["ok"] for r in records),
        "refused_queue_full": sum(r["refused"] for r in records),
        "failed": sum(not r["ok"] and not r["refused"] for r in records),
        "by_kind": {k: sum(r["kind"] == k and r["ok"] for r in records) for k in sorted({r["kind"] for r in records})},
        "p50_s": pct(0.50),
        "p95_s": pct(0.95),
        "mean_s": statistics.fmean(latencies) if latencies else float("nan"),
        "peak_rss_mb": peak / MB,
        "warm_rss_mb": after_warm_up / MB,
        "peak_over_warm": peak / after_warm_up if after_warm_up else float("nan"),
        "server_alive": alive,
        "errors": sorted({r["error"] for r in records if r["error"]})[:10],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--json", help="also write the summary here")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="genart-load-"))
    proc, url = start_app(work / "out", work / "app.log")
    memory: list[tuple[float, int]] = []
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            memory.append((time.time(), rss_bytes(proc.pid)))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        records = run_load(url, args.users, args.seconds, _reference_png(work))
        alive = proc.poll() is None and urllib.request.urlopen(url, timeout=10).status == 200
    finally:
        sampling.set()
        sampler.join()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    result = {**summary(records, memory, args.seconds, alive), "users": args.users, "log": str(work / "app.log")}
    print(
        f"{args.users} users for {args.seconds:.0f} s: {result['completed']} completed, {result['failed']} failed, "
        f"{result['refused_queue_full']} refused (queue full) of {result['requests']} requests "
        f"{result['by_kind']}"
    )
    print(
        f"latency p50 {result['p50_s']:.2f} s, p95 {result['p95_s']:.2f} s; server memory peak "
        f"{result['peak_rss_mb']:.0f} MB, after warm-up {result['warm_rss_mb']:.0f} MB "
        f"(peak / warm = {result['peak_over_warm']:.2f}); server alive after the run: {result['server_alive']}"
    )
    for error in result["errors"]:
        print(f"error: {error}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if result["failed"] == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
