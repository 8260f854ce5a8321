"""Work the cells of a grid share on one model: a prompt's text encoding, computed once while the grid runs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from ..cache import LoadedPipeline

_PLAIN = (str, int, float, bool, type(None))
_TORCH_VALUES = ("device", "dtype")  # torch.device / torch.dtype arguments: hashable by value


def _frozen(value: Any) -> Any:
    """`value` as a hashable key, or raises TypeError for what must not be keyed (a tensor hashes by identity)."""
    if isinstance(value, _PLAIN) or type(value).__name__ in _TORCH_VALUES:
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    raise TypeError(type(value).__name__)


def _copied(value: Any) -> Any:
    """A result with every tensor cloned, so a pipeline that changes its embeddings in place cannot change the memo."""
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value.clone() if hasattr(value, "clone") and hasattr(value, "data_ptr") else value


class PromptEncodingMemo:
    """Stands in for one pipeline's bound `encode_prompt` while a grid runs: the same arguments (and `context`, such as
    the cell's LoRAs, which change the encoder without changing the arguments) give the result of the first call.
    Only the grid's own thread is served from the memo; any other thread's call goes straight to the encoder."""

    def __init__(self, encode: Any, owner: int):
        self.encode, self.owner = encode, owner
        self.context: Any = ()
        self.results: dict[Any, Any] = {}
        self.calls = 0  # encoder runs
        self.hits = 0  # encodings served from the memo

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != self.owner:
            return self.encode(*args, **kwargs)
        try:
            key = _frozen((self.context, args, kwargs))
        except TypeError:  # e.g. precomputed embeddings passed in: nothing to share
            self.calls += 1
            return self.encode(*args, **kwargs)
        if key in self.results:
            self.hits += 1
        else:
            self.calls += 1
            self.results[key] = self.encode(*args, **kwargs)
        return _copied(self.results[key])


@contextlib.contextmanager
def shared_prompt_encoding(entry: LoadedPipeline) -> Iterator[PromptEncodingMemo | None]:
    """Memoise `entry.pipe.encode_prompt` on the instance for the `with` block (set and restored under the entry's
    lock, so no call is half-way through when it changes). Yields the memo, or None where the pipeline has no
    encode_prompt or another grid's memo is already in place (that grid restores it)."""
    pipe = entry.pipe
    with entry.lock:
        encode = getattr(pipe, "encode_prompt", None)
        if encode is None or "encode_prompt" in vars(pipe):
            memo = None
        else:
            memo = PromptEncodingMemo(encode, threading.get_ident())
            pipe.encode_prompt = memo
    try:
        yield memo
    finally:
        if memo is not None:
            with entry.lock:
                if vars(pipe).get("encode_prompt") is memo:
                    del pipe.encode_prompt
