"""On-disk cache of reference-set features, Gaussian stats and √Σ, keyed by extractor id and image-content hash."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..atomic import atomic_folder, atomic_write
from .frechet import Features, FrechetReference, GaussianStats, gaussian_stats

FORMAT_VERSION = 1
log = logging.getLogger(__name__)

_UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, json.JSONDecodeError)


def content_hash(items: Iterable[bytes]) -> str:
    """sha256 hex of a set of items (e.g. encoded image files), independent of their order; duplicates count."""
    return digests_hash(hashlib.sha256(item).digest() for item in items)


def digests_hash(item_digests: Iterable[bytes]) -> str:
    """content_hash from the items' own sha256 digests, for callers that already hashed each file."""
    digests = sorted(item_digests)
    h = hashlib.sha256(b"genart-reference-set\0")
    h.update(len(digests).to_bytes(8, "little"))
    for digest in digests:
        h.update(digest)
    return h.hexdigest()


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    """An .npz written atomically: readers see the old file or the new."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object, so numpy does not append ".npz" to the temporary name
            np.savez(fh, **arrays)

    atomic_write(path, write)


@dataclass
class CachedReference:
    """One cached reference set: its float32 features, float64 stats, optional logits and (once computed) √Σ."""

    extractor_id: str
    content_hash: str
    features: np.ndarray  # (n, d) float32
    stats: GaussianStats  # computed in float64 from `features` when the entry was put
    logits: np.ndarray | None = None  # (n, K) float32 where the extractor has a classifier head
    sqrt: np.ndarray | None = None  # (d, d) float64 R = √Σ, persisted once some comparison has computed it
    path: Path | None = field(default=None, repr=False)

    def reference(self) -> FrechetReference:
        """A FrechetReference over this set; when it computes R, R is written back here so later runs skip the eigh."""
        return FrechetReference(self.stats, features=self.features, sqrt=self.sqrt, on_sqrt=self._keep_sqrt)

    def _keep_sqrt(self, sqrt: np.ndarray) -> None:
        self.sqrt = sqrt
        if self.path is not None and self.path.is_dir():
            try:
                _write_npz(self.path / "sqrt.npz", sqrt=sqrt)
            except OSError as err:  # a read-only cache still works; it just recomputes R next time
                log.warning("could not store sqrt in reference cache entry %s: %s", self.path, err)


class ReferenceCache:
    """A directory of entries root/<extractor id>--<content hash>/ {meta.json, stats.npz, sqrt.npz (optional)}.

    put() builds an entry in a hidden temporary directory and renames it into place, so an interrupted write never
    leaves an entry that loads. get() treats anything unreadable (missing file, bad zip/CRC, wrong shape, other
    format version) as a miss and logs a warning; the next put() replaces it.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def entry_dir(self, extractor_id: str, content_hash: str) -> Path:
        return self.root / f"{_safe_name(extractor_id)}--{_safe_name(content_hash)}"

    def get(self, extractor_id: str, content_hash: str) -> CachedReference | None:
        path = self.entry_dir(extractor_id, content_hash)
        if not (path / "meta.json").is_file():
            return None
        try:
            return self._load(path, extractor_id, content_hash)
        except _UNREADABLE as err:
            log.warning(
                "reference cache entry %s is unreadable (%s: %s); treating it as a miss", path, type(err).__name__, err
            )
            return None

    def _load(self, path: Path, extractor_id: str, content_hash: str) -> CachedReference:
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {meta.get('format_version')!r}, this code reads {FORMAT_VERSION}")
        if meta.get("extractor_id") != extractor_id or meta.get("content_hash") != content_hash:
            raise ValueError(f"entry is for {meta.get('extractor_id')!r}/{meta.get('content_hash')!r}")
        n, d = int(meta["n"]), int(meta["d"])
        with np.load(path / "stats.npz", allow_pickle=False) as data:  # reading a member checks its CRC
            features, mu, sigma = data["features"], data["mu"], data["sigma"]
            logits = data["logits"] if meta.get("has_logits") else None
        if features.shape != (n, d) or mu.shape != (d,) or sigma.shape != (d, d):
            raise ValueError(f"arrays {features.shape}, {mu.shape}, {sigma.shape} do not match n={n}, d={d}")
        if logits is not None and logits.shape[0] != n:
            raise ValueError(f"logits have {logits.shape[0]} rows, features {n}")
        return CachedReference(
            extractor_id, content_hash, features, GaussianStats(mu, sigma, n), logits, self._load_sqrt(path, d), path
        )

    @staticmethod
    def _load_sqrt(path: Path, d: int) -> np.ndarray | None:
        if not (path / "sqrt.npz").is_file():
            return None
        try:
            with np.load(path / "sqrt.npz", allow_pickle=False) as data:
                sqrt = data["sqrt"]
            if sqrt.shape != (d, d):
                raise ValueError(f"sqrt is {sqrt.shape}, expected ({d}, {d})")
            return sqrt
        except _UNREADABLE as err:  # R is only a speed-up: drop it and recompute
            log.warning("ignoring unreadable sqrt in reference cache entry %s (%s)", path, err)
            return None

    def put(
        self,
        extractor_id: str,
        content_hash: str,
        features: Features,
        logits: Features | None = None,
        sqrt: np.ndarray | None = None,
    ) -> CachedReference:
        """Store (n, d) features (kept as float32), their float64 stats, optional (n, K) logits and optional √Σ."""
        feats = np.ascontiguousarray(np.asarray(_numpy(features), dtype=np.float32))
        stats = gaussian_stats(feats)  # also refuses non-2-D, n < 2 and non-finite features
        n, d = feats.shape
        logit_array = None if logits is None else np.asarray(_numpy(logits), dtype=np.float32)
        if logit_array is not None and (logit_array.ndim != 2 or logit_array.shape[0] != n):
            raise ValueError(f"logits must be (n={n}, classes); got shape {logit_array.shape}")
        if sqrt is not None and np.shape(sqrt) != (d, d):
            raise ValueError(f"sqrt must be ({d}, {d}); got {np.shape(sqrt)}")
        arrays = {"features": feats, "mu": stats.mu, "sigma": stats.sigma}
        if logit_array is not None:
            arrays["logits"] = logit_array
        meta = {
            "format_version": FORMAT_VERSION,
            "extractor_id": extractor_id,
            "content_hash": content_hash,
            "n": n,
            "d": d,
            "has_logits": logit_array is not None,
            "created": datetime.now(UTC).isoformat(),
        }
        final = self.entry_dir(extractor_id, content_hash)
        with atomic_folder(final, replace=True) as tmp:  # an older or broken entry is swapped out whole
            _write_npz(tmp / "stats.npz", **arrays)
            if sqrt is not None:
                _write_npz(tmp / "sqrt.npz", sqrt=np.asarray(sqrt, dtype=np.float64))
            atomic_write(tmp / "meta.json", json.dumps(meta, indent=1))
        return CachedReference(
            extractor_id,
            content_hash,
            feats,
            stats,
            logit_array,
            None if sqrt is None else np.asarray(sqrt, dtype=np.float64),
            final,
        )

    def get_or_compute(
        self, extractor_id: str, content_hash: str, compute: Callable[[], tuple[Features, Features | None]]
    ) -> CachedReference:
        """The cached entry, or put(compute()) on a miss; compute returns (features, logits or None)."""
        cached = self.get(extractor_id, content_hash)
        if cached is not None:
            return cached
        features, logits = compute()
        return self.put(extractor_id, content_hash, features, logits)


def _numpy(array: Features) -> np.ndarray:
    return array.detach().cpu().numpy() if hasattr(array, "detach") else np.asarray(array)


__all__ = ["CachedReference", "ReferenceCache", "content_hash", "digests_hash"]
