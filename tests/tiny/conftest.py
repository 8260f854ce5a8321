"""Fixtures for the stand-in tests: one torch thread, and one stand-in cache per test module."""

from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and on a busy 2-core box OpenMP spinning makes runs 30x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One stand-in cache shared by a module's tests, so each class is built once."""
    return tmp_path_factory.mktemp("genart-cache")
