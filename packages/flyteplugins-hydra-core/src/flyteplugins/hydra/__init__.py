"""Run Hydra-composed jobs as Flyte 2 runs: `hydra_run`, `hydra_sweep`, `Sweep`, `apply_task_env`, `FlyteLauncher`.

Attributes are imported on first use: Hydra imports the launcher shim (and so this package) while
scanning plugins for every Hydra app, and `flyte` is too heavy to load on that path.
"""

from __future__ import annotations

import importlib
import os
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import (
        ConfigurationError,
        FlyteHydraError,
        JobFailedError,
        RemoteRunError,
        ResultUnavailableError,
        SweepFailedError,
    )
    from ._launcher import FlyteLauncher
    from ._outcome import JobOutcome, RunResult
    from ._sdk import hydra_run, hydra_sweep
    from ._sweep import Sweep
    from ._task_env import apply_task_env

__all__ = [
    "ConfigurationError",
    "FlyteHydraError",
    "FlyteLauncher",
    "JobFailedError",
    "JobOutcome",
    "RemoteRunError",
    "ResultUnavailableError",
    "RunResult",
    "Sweep",
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
    "ResultUnavailableError": "._errors",
    "SweepFailedError": "._errors",
    "FlyteLauncher": "._launcher",
    "JobOutcome": "._outcome",
    "RunResult": "._outcome",
    "hydra_run": "._sdk",
    "hydra_sweep": "._sdk",
    "Sweep": "._sweep",
    "apply_task_env": "._task_env",
}


def _warn_if_2x_is_still_installed() -> None:
    """flyteplugins-hydra 2.x owned this directory; its `_run.py`/`_cli.py` here mean it was never uninstalled.

    Its old modules and `flyte hydra` command then sit beside ours, and uninstalling it later deletes
    files that now belong to flyteplugins-hydra-core and hydra-flyte-launcher. Those two module names
    are reserved for this check.
    """
    here = os.path.dirname(__file__)
    leftovers = [name for name in ("_run.py", "_cli.py") if os.path.exists(os.path.join(here, name))]
    if leftovers:
        warnings.warn(
            f"flyteplugins-hydra 2.x is still installed under flyteplugins-hydra-core 3 (found its "
            f"{', '.join(leftovers)} in {here}). Its uninstall deletes files that 3.x now owns, so remove it "
            "and then restore them: `pip uninstall flyteplugins-hydra`, then `pip install --force-reinstall "
            "--no-deps flyteplugins-hydra-core hydra-flyte-launcher`.",
            stacklevel=2,
        )


_warn_if_2x_is_still_installed()


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
