"""Peak memory over one block of work (a pipeline call): CUDA's allocator peak, or the process's resident peak on CPU.

On CPU the rise is a lower bound of what the block allocated: memory the process freed earlier but still holds (the C
allocator keeps it) is reused without raising the resident size, so in a long-lived process that has already run a
bigger call, a call's rise can read 0 while its peak (the resident size) stays true."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.005  # the CPU sampler's period: a peak held for less than this between samples can be missed
STATM = Path("/proc/self/statm")  # Linux: "size resident shared ..." in pages
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CUDA_KIND = "CUDA allocated"
CPU_KIND = "process resident"


@dataclass(frozen=True)
class PeakMemory:
    """What `measure_peak` saw. `peak_bytes` is the highest value of the measure during the block, `start_bytes` its
    value as the block began (so the block's own rise is peak_bytes - start_bytes)."""

    peak_bytes: int
    start_bytes: int
    kind: str  # CUDA_KIND or CPU_KIND: what was measured

    @property
    def rise_bytes(self) -> int:
        return max(self.peak_bytes - self.start_bytes, 0)


def resident_bytes() -> int | None:
    """The process's resident set size now (Linux /proc/self/statm), or None where there is no /proc."""
    try:
        return int(STATM.read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return None


class _ResidentSampler(threading.Thread):
    """Reads the resident size every SAMPLE_SECONDS until stopped, keeping the highest (a daemon: never holds exit)."""

    def __init__(self, start_bytes: int):
        super().__init__(name="peak-memory", daemon=True)
        self.peak = start_bytes
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, resident_bytes() or 0)

    def finish(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, resident_bytes() or 0)


@dataclass
class PeakMeter:
    """What `measure_peak` yields: its `result` is set when the block ends (None where no measure exists)."""

    result: PeakMemory | None = None


@contextmanager
def measure_peak(device: str) -> Iterator[PeakMeter]:
    """Measure the block's peak memory on `device`: `with measure_peak(d) as meter: ...`, then `meter.result`.

    On CUDA: torch.cuda.max_memory_allocated after reset_peak_memory_stats, exact for tensors of this process on that
    device (the allocator's cache and other processes are not counted; a concurrent call on the same device shares the
    counter). Elsewhere (CPU, MPS): the whole process's resident set size (weights already loaded included), read
    from /proc/self/statm at the start, every SAMPLE_SECONDS by a sampling thread, and at the end; a spike shorter than
    the period can be missed, and a concurrent call in the same process counts in it too."""
    meter = PeakMeter()
    if device.startswith("cuda"):
        import torch  # lazy: torch takes seconds to import; only a CUDA device is measured through it

        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        yield meter
        torch.cuda.synchronize(device)
        meter.result = PeakMemory(int(torch.cuda.max_memory_allocated(device)), int(start), CUDA_KIND)
        return
    start = resident_bytes()
    if start is None:  # no /proc: nothing honest to report
        yield meter
        return
    sampler = _ResidentSampler(start)
    sampler.start()
    try:
        yield meter
    finally:
        peak = sampler.finish()
    meter.result = PeakMemory(peak, start, CPU_KIND)


def highest_peak(*found: PeakMemory | None) -> PeakMemory | None:
    """The measurement with the highest peak (over consecutive blocks: base model, then refiner), ignoring None."""
    return max((f for f in found if f is not None), key=lambda f: f.peak_bytes, default=None)


def memory_text(nbytes: int) -> str:
    """'412 MiB' below 1 GiB, else '3.25 GiB'."""
    mib = nbytes / 2**20
    return f"{mib:.0f} MiB" if mib < 1024 else f"{mib / 1024:.2f} GiB"
