"""Models built on the meta device from their real configs: exact weight counts, and traced activation peaks.

Nothing here allocates memory or computes anything: every module is built under `torch.device("meta")` from the
configs committed in genart_demo/hubfacts (diffusers `cls.from_config`, transformers `config_class.from_dict` +
`_from_config`), so a 12-billion-parameter transformer costs milliseconds. Two things are measured:

- weights: the parameters of each component, with those its library keeps in float32 under half precision (T5's
  `wo` projections under float16, for one), the floating buffers, and the largest single module's own parameters
  (what sequential CPU offload keeps on the GPU at a time);
- activations: one forward pass run on meta tensors, counting the bytes of every tensor an op creates from its
  creation until its last reference dies (weights and inputs excluded). That is the peak of live tensors in eager
  PyTorch at the requested shape, exactly, with two modelling choices: `scaled_dot_product_attention` is counted as
  a fused kernel (flash or memory-efficient, which PyTorch picks on CUDA for float16/bfloat16), holding only its
  output and never the (tokens x tokens) attention map the math fallback would build; and a value read back from a
  tensor (`.item()`, e.g. LDMBert's float16 overflow check) is 0 / False, the branch finite activations take.

Results are pure functions of (repo, revision, component, dtype, shape) and cached in-process.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import diffusers
import torch
import transformers
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from .hubfacts import repo_facts

log = logging.getLogger("genart.memory")

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
_SDPA = {torch.nn.functional.scaled_dot_product_attention, torch._C._nn.scaled_dot_product_attention}


@dataclass(frozen=True)
class Counted:
    """One component's parameters as built from its config (independent of the dtype it will run in)."""

    cls: str  # the class diffusers/transformers builds (after diffusers' legacy remapping)
    params: int  # parameters (tied weights once)
    fp32_any: int  # parameters its library keeps in float32 under any half dtype (diffusers' _keep_in_fp32_modules,
    # transformers' _keep_in_fp32_modules_strict)
    fp32_fp16: int  # further parameters kept in float32 under float16 only (transformers' _keep_in_fp32_modules)
    float_buffers: int  # elements of floating buffers (cast with the model)
    other_buffer_bytes: int  # integer/bool buffers, kept as they are
    largest_module: int  # parameters held directly by the largest single module


def component_class(library: str, name: str) -> type | None:
    """The class a model_index entry names: diffusers, transformers, or a diffusers pipeline module's own class
    (e.g. ["stable_diffusion", "StableDiffusionSafetyChecker"], ["latent_diffusion", "LDMBertModel"]); None for a
    class the installed libraries no longer have (processors such as transformers' CLIPFeatureExtractor)."""
    if library in ("diffusers", "transformers"):
        return getattr(diffusers if library == "diffusers" else transformers, name, None)
    return getattr(importlib.import_module(f"diffusers.pipelines.{library}"), name, None)


def is_model_class(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, torch.nn.Module)


class _Quiet:
    """Silences diffusers' and transformers' notes about config keys a class ignores while a model is built."""

    def __enter__(self):
        self._levels = (diffusers.utils.logging.get_verbosity(), transformers.logging.get_verbosity())
        diffusers.utils.logging.set_verbosity_error()
        transformers.logging.set_verbosity_error()

    def __exit__(self, *exc):
        diffusers.utils.logging.set_verbosity(self._levels[0])
        transformers.logging.set_verbosity(self._levels[1])


@cache
def meta_model(repo: str, revision: str, config_path: str, library: str, class_name: str, dtype: str = "float32"):
    """The component built on the meta device from its committed config (see build_model)."""
    return build_model(repo, revision, config_path, library, class_name, dtype, "meta")


def build_model(repo: str, revision: str, config_path: str, library: str, class_name: str, dtype: str, device: str):
    """The component built on `device` from its committed config (random weights off the meta device), in eval
    mode, in `dtype` as its library loads it with torch_dtype: the parameters it keeps in float32 stay float32.
    Parameters are created in `dtype` directly, so a GPU never holds a float32 copy of a half-precision model."""
    cls = component_class(library, class_name)
    config = repo_facts(repo, revision).json(config_path)
    default = torch.get_default_dtype()  # process-wide: only a real build (the benchmark's) changes it
    if device != "meta":
        torch.set_default_dtype(DTYPES[dtype])
    try:
        with _Quiet(), torch.device(device):
            if issubclass(cls, diffusers.ModelMixin):
                model = cls.from_config(config)
            else:  # a transformers PreTrainedModel (diffusers' own LDMBertModel and safety checker included)
                model = cls._from_config(cls.config_class.from_dict(config))
            # legacy constructors (torch.Tensor([...])) ignore the device context: SVD's mix factors start on the CPU
            model = model.to(device=device, dtype=DTYPES[dtype]).eval()
    finally:
        torch.set_default_dtype(default)
    if dtype != "float32":
        keep_any, keep_fp16 = _keep_sets(model)
        keep = keep_any | (keep_fp16 if dtype == "float16" else set())
        for name, p in model.named_parameters():
            if _kept(name, keep):
                p.data = p.data.float()
    return model


def _keep_sets(model: torch.nn.Module) -> tuple[set[str], set[str]]:
    """(module names kept in float32 under any half dtype, those kept under float16 only), as the model's library
    applies them when loading with torch_dtype."""
    if isinstance(model, diffusers.ModelMixin):
        return set(type(model)._keep_in_fp32_modules or ()), set()
    strict = set(getattr(model, "_keep_in_fp32_modules_strict", None) or ())
    return strict, set(getattr(model, "_keep_in_fp32_modules", None) or ()) - strict


def _kept(name: str, modules: set[str]) -> bool:
    return any(m in name.split(".") for m in modules)


@cache
def count(repo: str, revision: str, config_path: str, library: str, class_name: str) -> Counted:
    """The parameter and buffer counts of one component, from its meta-device build."""
    model = meta_model(repo, revision, config_path, library, class_name)
    keep_any, keep_fp16 = _keep_sets(model)
    params = fp32_any = fp32_fp16 = 0
    for name, p in model.named_parameters():
        params += p.numel()
        fp32_any += p.numel() if _kept(name, keep_any) else 0
        fp32_fp16 += p.numel() if _kept(name, keep_fp16) and not _kept(name, keep_any) else 0
    float_buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    other = sum(b.numel() * b.element_size() for b in model.buffers() if not b.is_floating_point())
    largest = max((sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules()), default=0)
    return Counted(type(model).__name__, params, fp32_any, fp32_fp16, float_buffers, other, largest)


class _FusedAttention(TorchFunctionMode):
    """scaled_dot_product_attention as a fused kernel: an output of the query's shape with the value's last dim."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _SDPA:
            given = dict(zip(("query", "key", "value"), args)) | {
                k: kwargs[k] for k in ("query", "value") if k in kwargs
            }
            q, v = given["query"], given["value"]
            return torch.empty(*q.shape[:-1], v.shape[-1], dtype=q.dtype, device=q.device)
        return func(*args, **kwargs)


class _LiveBytes(TorchDispatchMode):
    """Counts the bytes of storages created by aten ops while any tensor viewing them is alive; keeps the peak."""

    def __init__(self, existing: set[int]):
        super().__init__()
        self.existing, self.refs, self.size, self.live, self.peak = existing, {}, {}, 0, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:  # .item() / `if tensor:` on a value meta lacks:
            dtype = args[0].dtype
            return False if dtype == torch.bool else 0.0 if dtype.is_floating_point else 0
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if not isinstance(t, torch.Tensor):
                continue
            key = t.untyped_storage()._cdata
            if key in self.existing:
                continue
            if key not in self.refs:
                self.refs[key], self.size[key] = 0, t.untyped_storage().nbytes()
                self.live += self.size[key]
                self.peak = max(self.peak, self.live)
            self.refs[key] += 1
            weakref.finalize(t, self._release, key)
        return out

    def _release(self, key: int) -> None:
        self.refs[key] -= 1
        if not self.refs[key]:
            del self.refs[key]
            self.live -= self.size.pop(key)


def traced_peak(model: torch.nn.Module, run: Callable[[], Any], inputs: list[torch.Tensor]) -> int:
    """Peak bytes of live activations while `run()` executes on meta tensors (weights and `inputs` excluded)."""
    existing = {t.untyped_storage()._cdata for t in [*model.parameters(), *model.buffers(), *inputs]}
    with torch.no_grad(), _Quiet(), _FusedAttention(), _LiveBytes(existing) as counter:
        out = run()
        del out
    return counter.peak


def signature_params(cls: type, method: str = "__call__") -> frozenset[str]:
    return frozenset(inspect.signature(getattr(cls, method)).parameters)


def pipeline_upcasts_vae(pipeline_class: str) -> bool:
    """Whether the pipeline decodes in float32 when its VAE config says `force_upcast` and it runs in float16 (the
    SDXL family reads `vae.config.force_upcast` in its __call__; others never upcast)."""
    cls = getattr(diffusers, pipeline_class, None)
    return cls is not None and "force_upcast" in inspect.getsource(cls.__call__)


def pipeline_offload_rules(pipeline_class: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(model_cpu_offload_seq as a tuple, _exclude_from_cpu_offload) of a diffusers pipeline class."""
    cls = getattr(diffusers, pipeline_class)
    seq = tuple(s for s in (getattr(cls, "model_cpu_offload_seq", None) or "").split("->") if s)
    return seq, tuple(getattr(cls, "_exclude_from_cpu_offload", None) or ())


def pipeline_takes(pipeline_class: str) -> frozenset[str]:
    """The component names a diffusers pipeline class's constructor takes."""
    return signature_params(getattr(diffusers, pipeline_class), "__init__")
