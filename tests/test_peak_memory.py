"""Peak memory over a block: a known CPU allocation is seen at its size, a freed spike is still caught."""

import time

import numpy as np
import pytest

from genart_demo import peak_memory
from genart_demo.peak_memory import CPU_KIND, measure_peak, memory_text, resident_bytes

MB = 10**6

pytestmark = pytest.mark.skipif(resident_bytes() is None, reason="no /proc/self/statm on this platform")


def _touched(nbytes: int) -> np.ndarray:
    return np.ones(nbytes, dtype=np.uint8)  # written, so every page is resident


def test_a_200_mb_buffer_freed_inside_the_block_is_its_peak():
    with measure_peak("cpu") as meter:
        buffer = _touched(200 * MB)
        time.sleep(20 * peak_memory.SAMPLE_SECONDS)  # several sampling periods with the buffer alive
        del buffer
        time.sleep(4 * peak_memory.SAMPLE_SECONDS)
    found = meter.result
    assert found is not None and found.kind == CPU_KIND
    assert 195 * MB <= found.rise_bytes <= 230 * MB, found
    assert found.peak_bytes >= found.start_bytes + 195 * MB
    assert resident_bytes() < found.peak_bytes - 150 * MB  # it was freed: the peak is not today's size


def test_a_buffer_alive_at_the_end_is_caught_by_the_last_reading(monkeypatch):
    monkeypatch.setattr(peak_memory, "SAMPLE_SECONDS", 60.0)  # the sampler never wakes: only start and end readings
    with measure_peak("cpu") as meter:
        buffer = _touched(100 * MB)
    assert 95 * MB <= meter.result.rise_bytes <= 120 * MB
    del buffer


def test_no_proc_gives_no_result(monkeypatch):
    monkeypatch.setattr(peak_memory, "STATM", peak_memory.Path("/nonexistent/statm"))
    with measure_peak("cpu") as meter:
        pass
    assert meter.result is None


def test_memory_text():
    assert memory_text(412 * 2**20) == "412 MiB"
    assert memory_text(int(3.25 * 2**30)) == "3.25 GiB"
