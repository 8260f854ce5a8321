"""Peak memory over a block: a known CPU allocation is seen at its size, a freed spike is still caught."""

import json
import subprocess
import sys

import pytest
import torch

from genart_demo import peak_memory
from genart_demo.peak_memory import (
    CPU_KIND,
    CUDA_KIND,
    PeakMemory,
    highest_peak,
    measure_peak,
    memory_text,
    resident_bytes,
)

MB = 10**6

needs_proc = pytest.mark.skipif(resident_bytes() is None, reason="no /proc/self/statm on this platform")


def _in_fresh_process(code: str) -> dict:
    """Run `code` (which sets `result`) in a new Python: this test process has freed hundreds of MB that the C
    allocator still holds, and a new buffer reusing them would not raise the resident size at all."""
    script = "import json, time\nimport numpy as np\nfrom genart_demo import peak_memory\n" + code
    done = subprocess.run(
        [sys.executable, "-c", script + "\nprint(json.dumps(result))"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_proc
def test_a_200_mb_buffer_freed_inside_the_block_is_its_peak():
    found = _in_fresh_process(
        """
with peak_memory.measure_peak("cpu") as meter:
    buffer = np.ones(200 * 10**6, dtype=np.uint8)  # written, so every page is resident
    time.sleep(20 * peak_memory.SAMPLE_SECONDS)  # several sampling periods with the buffer alive
    del buffer
    time.sleep(4 * peak_memory.SAMPLE_SECONDS)
r = meter.result
result = dict(kind=r.kind, rise=r.rise_bytes, peak=r.peak_bytes, start=r.start_bytes, now=peak_memory.resident_bytes())
"""
    )
    assert found["kind"] == CPU_KIND
    assert 195 * MB <= found["rise"] <= 230 * MB, found
    assert found["peak"] >= found["start"] + 195 * MB
    assert found["now"] < found["peak"] - 150 * MB  # it was freed: the peak is not today's size


@needs_proc
def test_a_buffer_alive_at_the_end_is_caught_by_the_last_reading():
    found = _in_fresh_process(
        """
peak_memory.SAMPLE_SECONDS = 60.0  # the sampler never wakes: only the start and end readings
with peak_memory.measure_peak("cpu") as meter:
    buffer = np.ones(100 * 10**6, dtype=np.uint8)
result = dict(rise=meter.result.rise_bytes)
"""
    )
    assert 95 * MB <= found["rise"] <= 120 * MB, found


@needs_proc
def test_no_proc_gives_no_result(monkeypatch):
    monkeypatch.setattr(peak_memory, "STATM", peak_memory.Path("/nonexistent/statm"))
    with measure_peak("cpu") as meter:
        pass
    assert meter.result is None


def test_memory_text():
    assert memory_text(412 * 2**20) == "412 MiB"
    assert memory_text(int(3.25 * 2**30)) == "3.25 GiB"


def test_cuda_reads_the_allocator_peak_after_resetting_it(monkeypatch):
    """On CUDA the peak is torch's, reset as the block starts (torch.cuda stubbed here: the calls and their order)."""
    calls = []
    stub = {
        "synchronize": lambda d: calls.append(("synchronize", d)),
        "reset_peak_memory_stats": lambda d: calls.append(("reset", d)),
        "memory_allocated": lambda d: 100,
        "max_memory_allocated": lambda d: 700,
    }
    for name, fn in stub.items():
        monkeypatch.setattr(torch.cuda, name, fn)
    with measure_peak("cuda:1") as meter:
        calls.append(("block", None))
    assert meter.result == PeakMemory(700, 100, CUDA_KIND) and meter.result.rise_bytes == 600
    assert calls == [("synchronize", "cuda:1"), ("reset", "cuda:1"), ("block", None), ("synchronize", "cuda:1")]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_256_mib_cuda_tensor_is_its_peak():
    with measure_peak("cuda") as meter:
        held = torch.ones(256 * 2**20, dtype=torch.uint8, device="cuda")
        del held
    assert 256 * 2**20 <= meter.result.rise_bytes <= 258 * 2**20


def test_highest_peak_ignores_missing_measures():
    low, high = PeakMemory(5, 1, CPU_KIND), PeakMemory(9, 8, CPU_KIND)
    assert highest_peak(low, None, high) is high and highest_peak(None) is None
