"""The engine's public API, for the launcher shim, the CLI and anyone building another surface.

What this module promises (semantic versioning of `flyteplugins-hydra-core` applies to it):

* `LaunchOptions` — every launch option, defined once; `LaunchOptions.parse(surface, values)`
  validates a surface's input, `option_specs()` describes each option (help, kind, choices,
  sweep-only, surfaces), `knob(name, surface)` spells it as that surface does.
* `LaunchRequest` and `launch(request)` — compose, run and wait; one `JobOutcome` per job.
* `launcher_config_class(target)` and `SingleRunCallback` — what `hydra/launcher=flyte` registers.
* `config_parameter(task)`, `ensure_remote_ready()`, `is_hydra_override(o)`,
  `override_completions(...)` — the checks and lookups a surface makes before launching.
* `JobOutcome`, `Phase`, `RunResult` and the errors of `flyteplugins.hydra`.

Names are imported on first use: this module is loaded while Hydra scans plugins and while the
flyte CLI starts, where `flyte` itself is too heavy to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._options import (
    DEFAULTS,
    LaunchOptions,
    OptionSpec,
    Surface,
    knob,
    launcher_config_class,
    option_specs,
    surface_options,
    sweep_only_options,
)

if TYPE_CHECKING:
    from ._completion import override_completions
    from ._engine import LaunchRequest, launch
    from ._errors import ConfigurationError, FlyteHydraError, JobFailedError, RemoteRunError, SweepFailedError
    from ._journal import is_hydra_override
    from ._mode import ensure_remote_ready
    from ._outcome import JobOutcome, RunResult
    from ._phase import Phase
    from ._single_run import SingleRunCallback
    from ._task_inputs import config_parameter

__all__ = [
    "DEFAULTS",
    "ConfigurationError",
    "FlyteHydraError",
    "JobFailedError",
    "JobOutcome",
    "LaunchOptions",
    "LaunchRequest",
    "OptionSpec",
    "Phase",
    "RemoteRunError",
    "RunResult",
    "SingleRunCallback",
    "Surface",
    "SweepFailedError",
    "config_parameter",
    "ensure_remote_ready",
    "is_hydra_override",
    "knob",
    "launch",
    "launcher_config_class",
    "option_specs",
    "override_completions",
    "surface_options",
    "sweep_only_options",
]

_HOME = {
    "ConfigurationError": "._errors",
    "FlyteHydraError": "._errors",
    "JobFailedError": "._errors",
    "RemoteRunError": "._errors",
    "SweepFailedError": "._errors",
    "JobOutcome": "._outcome",
    "RunResult": "._outcome",
    "LaunchRequest": "._engine",
    "launch": "._engine",
    "Phase": "._phase",
    "SingleRunCallback": "._single_run",
    "config_parameter": "._task_inputs",
    "ensure_remote_ready": "._mode",
    "is_hydra_override": "._journal",
    "override_completions": "._completion",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name], "flyteplugins.hydra"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
