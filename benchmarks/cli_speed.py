"""How long the `genart` command line takes, each command in a fresh process, against its goal: `genart --help`,
`python app.py --help` and `genart models` under 1 s, a one-step 64 px stand-in generation under 3 s.

    .venv/bin/python benchmarks/cli_speed.py [--repeats 5] [--old REV]

Prints, per command, the median wall seconds over the repeats, the median CPU seconds (user + system: steadier than
wall time on a shared machine), and wall / goal. `floor` is the least a generation can cost: a bare script that
imports torch and diffusers, loads the same saved stand-in and runs the same one step on one thread. With --old, the same
commands also run from a `git worktree` of REV, alternating with this tree, and the speed-up is printed. Runs
offline on tiny stand-ins (GENART_OFFLINE=1), the stand-in built once before the timing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
GENERATE = ["generate", "--model", "sd15", "--prompt", "a cat", "--steps", "1", "--width", "64", "--height", "64"]
# name -> (argv after the interpreter, goal in seconds)
COMMANDS: dict[str, tuple[list[str], float]] = {
    "genart --help": (["-m", "genart_demo.cli", "--help"], 1.0),
    "python app.py --help": (["app.py", "--help"], 1.0),
    "genart models": (["-m", "genart_demo.cli", "models"], 1.0),
    "genart generate (1 step, 64 px)": (["-m", "genart_demo.cli", *GENERATE], 3.0),
}
FLOOR = """
import sys, torch
from diffusers import StableDiffusionPipeline
torch.set_num_threads(1)  # as genart runs a stand-in (cli_common.one_thread_for_standin)
pipe = StableDiffusionPipeline.from_pretrained(sys.argv[1], safety_checker=None)
pipe.set_progress_bar_config(disable=True)
pipe("a cat", num_inference_steps=1, width=64, height=64, generator=torch.Generator().manual_seed(0)).images[0].save(
    sys.argv[2]
)
"""


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `PY argv` in `cwd`; fails loudly if the command fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([PY, *argv], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} in {cwd} failed:\n{proc.stderr[-3000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def old_tree(rev: str) -> Path:
    """A detached worktree of `rev` in a temporary folder (removed by remove_tree)."""
    path = Path(tempfile.mkdtemp(prefix="genart-old-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT, check=True, capture_output=True)
    return path


def remove_tree(path: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--old", metavar="REV", help="also time the commands at this git revision, alternating")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="genart-cli-speed-"))
    env = {
        **os.environ,
        "GENART_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "GENART_CACHE_DIR": str(work / "cache"),
        "GENART_OUTPUT_DIR": str(work / "out"),
        "HF_HUB_CACHE": str(work / "hub"),  # empty: every model runs as its stand-in, in both trees
    }
    trees = {"new": ROOT}
    if args.old:
        trees["old"] = old_tree(args.old)
    try:
        subprocess.run([PY, "-m", "genart_demo.cli", *GENERATE], cwd=ROOT, env=env, check=True, capture_output=True)
        standin = next((work / "cache" / "standins").glob("StableDiffusionPipeline-v*"))
        runs = {**{(tree, name): argv for tree in trees for name, (argv, _) in COMMANDS.items()}}
        runs[("new", "floor: bare diffusers, same stand-in")] = ["-c", FLOOR, str(standin), str(work / "floor.png")]
        times: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in runs}
        load_before = os.getloadavg()[0]
        for _ in range(args.repeats):  # alternate, so every command sees the same machine load
            for (tree, name), argv in runs.items():
                times[(tree, name)].append(timed(argv, trees[tree], env))
        load_after = os.getloadavg()[0]
    finally:
        if "old" in trees:
            remove_tree(trees["old"])

    def median(tree: str, name: str, i: int) -> float:
        return statistics.median(t[i] for t in times[(tree, name)])

    print(f"median of {args.repeats} fresh processes; load average {load_before:.1f} before, {load_after:.1f} after")
    header = f"{'command':<38} {'wall s':>7} {'cpu s':>6} {'goal s':>6} {'wall/goal':>9}"
    print(header + (f" {'old wall s':>10} {'old cpu s':>9} {'speed-up':>8}" if args.old else ""))
    for name, (_, goal) in COMMANDS.items():
        wall, cpu = median("new", name, 0), median("new", name, 1)
        line = f"{name:<38} {wall:7.2f} {cpu:6.2f} {goal:6.1f} {wall / goal:9.2f}"
        if args.old:
            old_wall, old_cpu = median("old", name, 0), median("old", name, 1)
            line += f" {old_wall:10.2f} {old_cpu:9.2f} {old_wall / wall:7.1f}x"
        print(line)
    name = "floor: bare diffusers, same stand-in"
    wall, cpu = median("new", name, 0), median("new", name, 1)
    print(f"{name:<38} {wall:7.2f} {cpu:6.2f} {3.0:6.1f} {wall / 3.0:9.2f}")


if __name__ == "__main__":
    main()
