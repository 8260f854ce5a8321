"""The Studio: the one explicit process-wide object (settings, registry, pipeline cache) passed to tasks and tabs."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from .cache import PipelineCache
from .loading import STANDIN_NOTICE, effective_spec, hub_reachable, runs_standin
from .lora import LoraFiles
from .registry import ModelSpec, Registry
from .settings import Settings

log = logging.getLogger("genart")


@dataclass
class Studio:
    """Process-wide state. Build one per process (or per test) with `Studio.create()`."""

    settings: Settings
    registry: Registry
    cache: PipelineCache
    offline: bool  # True: the Hub is not used; models load from the local Hub cache, stand-ins for those missing
    offline_reason: str = ""
    _warm_up: threading.Thread | None = field(default=None, repr=False)
    loras: LoraFiles = field(default_factory=LoraFiles, repr=False)  # LoRA files hashed and read once per process

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
        cache = PipelineCache(settings, standin=lambda spec: runs_standin(spec, settings, offline))
        studio = cls(settings, registry, cache, offline, reason)
        # For the server log; the UI and the CLI show `notice` themselves (a warning printed it twice in the CLI).
        if offline and log.isEnabledFor(logging.INFO):
            log.info("genart is offline (%s). %s", reason, studio.offline_summary())
        return studio

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
        """The registry entry as it runs here (stand-in sizes for a stand-in); unknown ids raise UnknownModelError."""
        spec = self.registry.get(model_id)
        return effective_spec(spec, self.runs_standin(spec))

    def runs_standin(self, spec: ModelSpec | str) -> bool:
        """Whether this model runs as its tiny stand-in here: offline and not in the local Hub cache."""
        return self.cache.runs_standin(self.registry.get(spec) if isinstance(spec, str) else spec)

    def real_offline(self) -> list[str]:
        """Offline, the ids of the models that run for real from the local Hub cache; [] online."""
        return [s.id for s in self.registry if self.offline and not self.runs_standin(s)]

    def offline_summary(self) -> str:
        """Offline, which models run for real from the local Hub cache and which as stand-ins."""
        real = self.real_offline()
        if not real:
            return f"No model is in the local Hub cache: {STANDIN_NOTICE}"
        missing = len(self.registry) - len(real)
        return (
            f"From the local Hub cache, {len(real)} model(s) run for real: {', '.join(real)}. "
            + (f"The other {missing} are not cached and run as tiny random-weight stand-ins." if missing else "")
        ).strip()

    @property
    def notice(self) -> str:
        """A line for the UI and CLI saying where outputs come from."""
        if self.offline:
            return f"Offline ({self.offline_reason}). {self.offline_summary()}"
        return f"Models load from the Hugging Face Hub onto {self.cache.device}."
