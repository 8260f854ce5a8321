"""The Studio: the one explicit process-wide object (settings, registry, pipeline cache) passed to tasks and tabs."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from .cache import PipelineCache
from .loading import STANDIN_NOTICE, effective_spec, hub_reachable
from .registry import ModelSpec, Registry
from .settings import Settings

log = logging.getLogger("genart")


@dataclass
class Studio:
    """Process-wide state. Build one per process (or per test) with `Studio.create()`."""

    settings: Settings
    registry: Registry
    cache: PipelineCache
    offline: bool  # True: every model resolves to its tiny stand-in
    offline_reason: str = ""
    _warm_up: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def create(cls, settings: Settings | None = None, registry: Registry | None = None) -> Studio:
        """Read settings, load the registry and decide offline mode (a Hub probe of at most a few seconds)."""
        settings = settings or Settings.from_env()
        registry = registry or Registry.load()
        if settings.offline:
            offline, reason = True, "`GENART_OFFLINE=1` (or `HF_HUB_OFFLINE=1`) is set"
        elif not hub_reachable(settings.hub_endpoint, settings.hub_probe_timeout_s):
            offline, reason = True, f"the Hugging Face Hub did not answer within {settings.hub_probe_timeout_s:g}s"
        else:
            offline, reason = False, ""
        if offline:
            log.warning("genart is offline (%s): %s", reason, STANDIN_NOTICE)
        return cls(settings, registry, PipelineCache(settings, standin=offline), offline, reason)

    def start_warm_up(self) -> None:
        """Import torch, diffusers and the stand-in builders in the background (the app starts serving
        before they load); `wait_for_warm_up` lets a request wait instead of racing the half-done imports."""
        if self._warm_up is None:
            self._warm_up = threading.Thread(target=self._import_heavy, name="genart-warm-up", daemon=True)
            self._warm_up.start()

    def wait_for_warm_up(self) -> None:
        if self._warm_up is not None:
            self._warm_up.join()

    def _import_heavy(self) -> None:
        try:
            import diffusers  # lazy: diffusers takes seconds to import; only loading a model needs it  # noqa: F401

            from .tiny import builders  # lazy: imports torch (seconds); only this path needs it  # noqa: F401

            self.cache.device  # noqa: B018  (resolves the device, importing torch)
        except Exception:  # an optimisation only: the first request imports what it needs
            log.exception("warm-up import failed")

    def spec(self, model_id: str) -> ModelSpec:
        """The registry entry as it runs here (stand-in sizes when offline); unknown ids raise UnknownModelError."""
        return effective_spec(self.registry.get(model_id), self.offline)

    @property
    def notice(self) -> str:
        """A line for the UI and CLI saying where outputs come from."""
        if self.offline:
            return f"{STANDIN_NOTICE} (Reason: {self.offline_reason}.)"
        return f"Models load from the Hugging Face Hub onto {self.cache.device}."
