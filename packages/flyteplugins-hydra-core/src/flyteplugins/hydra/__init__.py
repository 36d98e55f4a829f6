"""Run Hydra-composed jobs as Flyte 2 runs: `hydra_run`, `hydra_sweep`, `apply_task_env`, `FlyteLauncher`.

Attributes are imported on first use: Hydra imports the launcher shim (and so this package) while
scanning plugins for every Hydra app, and `flyte` is too heavy to load on that path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import ConfigurationError, FlyteHydraError, JobFailedError, RemoteRunError, SweepFailedError
    from ._launcher import FlyteLauncher
    from ._outcome import JobOutcome, RunResult
    from ._sdk import hydra_run, hydra_sweep
    from ._task_env import apply_task_env

__all__ = [
    "ConfigurationError",
    "FlyteHydraError",
    "FlyteLauncher",
    "JobFailedError",
    "JobOutcome",
    "RemoteRunError",
    "RunResult",
    "SweepFailedError",
    "apply_task_env",
    "hydra_run",
    "hydra_sweep",
]

_HOME = {
    "ConfigurationError": "._errors",
    "FlyteHydraError": "._errors",
    "JobFailedError": "._errors",
    "RemoteRunError": "._errors",
    "SweepFailedError": "._errors",
    "FlyteLauncher": "._launcher",
    "JobOutcome": "._outcome",
    "RunResult": "._outcome",
    "hydra_run": "._sdk",
    "hydra_sweep": "._sdk",
    "apply_task_env": "._task_env",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
