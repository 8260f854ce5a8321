"""Reference cache: round trip, reuse across processes without a feature pass or a second eigh, corruption, atomicity."""

import json
import logging
import os

import numpy as np
import pytest
import torch

from genart_demo import atomic
from genart_demo.metrics.frechet import frechet_distance_features, gaussian_stats
from genart_demo.metrics.refcache import ReferenceCache, content_hash

EXTRACTOR = "standin-inception/v1 (test)"  # has characters a directory name must not keep


class CountingExtractor:
    """Stands in for a feature pass over the reference images: (n, d) float32 features and (n, K) logits."""

    def __init__(self, n=120, d=16, k=5, seed=0):
        self.calls = 0
        rng = np.random.default_rng(seed)
        self.features = (rng.standard_normal((n, d)) @ rng.standard_normal((d, d))).astype(np.float32)
        self.logits = rng.standard_normal((n, k)).astype(np.float32)

    def __call__(self):
        self.calls += 1
        return torch.from_numpy(self.features), self.logits


def test_content_hash_ignores_order_but_not_content_or_multiplicity():
    items = [b"image-a", b"image-b", b"image-c"]
    assert content_hash(items) == content_hash(reversed(items))
    assert content_hash(items) != content_hash([b"image-a", b"image-b", b"image-d"])
    assert content_hash(items) != content_hash(items + [b"image-a"])
    assert len(content_hash(items)) == 64


def test_put_get_round_trip(tmp_path):
    cache, source = ReferenceCache(tmp_path), CountingExtractor()
    key = content_hash([b"x", b"y"])
    assert cache.get(EXTRACTOR, key) is None
    put = cache.put(EXTRACTOR, key, *source())
    got = cache.get(EXTRACTOR, key)
    np.testing.assert_array_equal(got.features, source.features)
    np.testing.assert_array_equal(got.logits, source.logits)
    expected = gaussian_stats(source.features.astype(np.float64))
    np.testing.assert_array_equal(got.stats.mu, expected.mu)
    np.testing.assert_array_equal(got.stats.sigma, put.stats.sigma)
    assert got.stats.n == 120 and got.sqrt is None
    meta = json.loads((got.path / "meta.json").read_text())
    assert (meta["n"], meta["d"], meta["extractor_id"], meta["format_version"]) == (120, 16, EXTRACTOR, 1)
    assert got.path.parent == tmp_path and "/" not in got.path.name and " " not in got.path.name
    assert cache.get("another-extractor", key) is None and cache.get(EXTRACTOR, content_hash([b"x"])) is None


def test_second_comparison_needs_no_feature_pass_and_no_second_eigh(tmp_path, monkeypatch):
    """A later process: features come from disk (no extractor call) and R = √Σ too (np.linalg.eigh not called)."""
    eigh_calls = []
    real_eigh = np.linalg.eigh
    monkeypatch.setattr(np.linalg, "eigh", lambda a: eigh_calls.append(a.shape) or real_eigh(a))
    source, key = CountingExtractor(), content_hash([b"reference images"])
    fake = np.random.default_rng(1).standard_normal((90, 16)) * 1.5  # n > d: the route through R
    expected = frechet_distance_features(source.features, fake)

    first = ReferenceCache(tmp_path).get_or_compute(EXTRACTOR, key, source)
    value = first.reference().distance(fake)
    assert source.calls == 1 and eigh_calls == [(16, 16)]
    assert value == pytest.approx(expected, rel=1e-9)
    assert (first.path / "sqrt.npz").is_file()

    later = ReferenceCache(tmp_path).get_or_compute(EXTRACTOR, key, source)  # a fresh cache object: a new process
    assert source.calls == 1
    np.testing.assert_array_equal(later.sqrt, first.sqrt)
    assert later.reference().distance(fake) == pytest.approx(value, rel=1e-12)
    assert eigh_calls == [(16, 16)]


def test_corrupt_or_foreign_entries_are_misses_and_are_replaced(tmp_path, caplog):
    cache, source, key = ReferenceCache(tmp_path), CountingExtractor(), content_hash([b"c"])
    entry = cache.put(EXTRACTOR, key, *source())
    stats_file = entry.path / "stats.npz"
    raw = bytearray(stats_file.read_bytes())
    raw[len(raw) // 3] ^= 0xFF  # one flipped byte inside the feature data: the zip CRC catches it
    stats_file.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="genart_demo.metrics.refcache"):
        assert cache.get(EXTRACTOR, key) is None
    assert "unreadable" in caplog.text
    stats_file.write_bytes(bytes(raw[: len(raw) // 2]))  # truncated
    assert cache.get(EXTRACTOR, key) is None
    assert cache.get_or_compute(EXTRACTOR, key, source).features.shape == (120, 16) and source.calls == 2
    assert cache.get(EXTRACTOR, key) is not None  # the broken entry was replaced
    meta = json.loads((entry.path / "meta.json").read_text())
    (entry.path / "meta.json").write_text(json.dumps({**meta, "format_version": 99}))
    assert cache.get(EXTRACTOR, key) is None
    (entry.path / "meta.json").write_text(json.dumps({**meta, "d": 17}))
    assert cache.get(EXTRACTOR, key) is None


def test_a_corrupt_sqrt_is_dropped_but_the_entry_still_loads(tmp_path):
    cache, source, key = ReferenceCache(tmp_path), CountingExtractor(), content_hash([b"s"])
    entry = cache.put(EXTRACTOR, key, *source(), sqrt=np.eye(16))
    assert cache.get(EXTRACTOR, key).sqrt.shape == (16, 16)
    (entry.path / "sqrt.npz").write_bytes(b"not a zip")
    again = cache.get(EXTRACTOR, key)
    assert again is not None and again.sqrt is None


def test_an_interrupted_put_leaves_nothing_that_loads(tmp_path, monkeypatch):
    cache, source, key = ReferenceCache(tmp_path), CountingExtractor(), content_hash([b"crash"])
    real_rename = os.rename

    def crash_on_the_final_rename(src, dst):
        if str(dst) == str(cache.entry_dir(EXTRACTOR, key)):
            raise OSError("simulated crash")
        return real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", crash_on_the_final_rename)
    with pytest.raises(OSError, match="simulated crash"):
        cache.put(EXTRACTOR, key, *source())
    monkeypatch.undo()
    assert cache.get(EXTRACTOR, key) is None
    assert list(tmp_path.iterdir()) == []  # the temporary directory was cleaned up


def test_put_refuses_bad_shapes(tmp_path):
    cache = ReferenceCache(tmp_path)
    with pytest.raises(ValueError, match="at least 2"):
        cache.put(EXTRACTOR, "k", np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"logits must be \(n=3"):
        cache.put(EXTRACTOR, "k", np.random.rand(3, 4), logits=np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"sqrt must be \(4, 4\)"):
        cache.put(EXTRACTOR, "k", np.random.rand(3, 4), sqrt=np.eye(3))
