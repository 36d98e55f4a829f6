"""`hydra_run` / `hydra_sweep`: the Python surface over the engine's `launch`.

Each launch option is a keyword argument here, defaulting to the one definition in `LaunchOptions`;
`_options_given` collects them by name, so no option is forwarded by hand.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ._engine import LaunchRequest, launch
from ._errors import ConfigurationError, JobFailedError, SweepFailedError
from ._options import DEFAULTS, LaunchOptions, surface_options, sweep_only_options


def _options_given(values: Mapping[str, Any], task_inputs: Mapping[str, Any], *, multirun: bool) -> LaunchOptions:
    """The launch options among a function's arguments; a sweep option given to `hydra_run` is named as such."""
    if not multirun:
        misplaced = sorted(set(task_inputs) & set(sweep_only_options()))
        if misplaced:
            name = misplaced[0]
            raise ConfigurationError(
                f"`{name}` is a hydra_sweep option; hydra_run launches a single job. Use hydra_sweep, or drop {name}."
            )
    names = surface_options("sdk")
    return LaunchOptions.parse("sdk", {n: values[n] for n in names if n in values}, multirun=multirun)


def hydra_run(
    task: Any,
    *,
    config_path: str | os.PathLike[str] | None = None,
    config_name: str | None = "config",
    overrides: Sequence[str] | None = None,
    mode: str = DEFAULTS.mode,
    wait: bool = DEFAULTS.wait,
    wait_max_workers: int | None = DEFAULTS.wait_max_workers,
    dry_run: bool = DEFAULTS.dry_run,
    task_env_key: str = DEFAULTS.task_env_key,
    progress: str = DEFAULTS.progress,
    run_options: Mapping[str, Any] | None = None,
    **task_inputs: Any,
) -> Any:
    """Compose one config and run `task` with it; returns a `RunResult` (or the `flyte.remote.Run` if not waiting).

    >>> result = hydra_run(pipeline, config_path="conf", config_name="training",
    ...                    overrides=["optimizer.lr=0.01"], mode="local", dataset="imagenet")
    >>> float(result)

    Raises `JobFailedError` when the run fails.
    """
    options = _options_given(locals(), task_inputs, multirun=False)
    request = LaunchRequest(task, config_path, config_name, overrides or (), False, task_inputs, options)
    (outcome,) = launch(request)
    if not outcome.ok:
        raise JobFailedError(outcome) from outcome.error
    return outcome.result


def hydra_sweep(
    task: Any,
    *,
    config_path: str | os.PathLike[str] | None = None,
    config_name: str | None = "config",
    overrides: Sequence[str] | None = None,
    mode: str = DEFAULTS.mode,
    wait: bool = DEFAULTS.wait,
    wait_max_workers: int | None = DEFAULTS.wait_max_workers,
    max_parallel: int | None = DEFAULTS.max_parallel,
    fail_fast: bool = DEFAULTS.fail_fast,
    dry_run: bool = DEFAULTS.dry_run,
    rerun_failed: str | os.PathLike[str] | None = DEFAULTS.rerun_failed,
    task_env_key: str = DEFAULTS.task_env_key,
    progress: str = DEFAULTS.progress,
    driver: str = DEFAULTS.driver,
    run_options: Mapping[str, Any] | None = None,
    **task_inputs: Any,
) -> list[Any]:
    """Expand sweep overrides and run `task` once per job; results come back in Hydra's job order.

    >>> results = hydra_sweep(pipeline, config_path="conf", config_name="training",
    ...                       overrides=["optimizer.lr=0.001,0.01", "training.epochs=1,2"],
    ...                       mode="local", dataset="imagenet")
    >>> [float(r) for r in results]  # four values

    A `hydra/sweeper=...` override (e.g. Optuna) lets that sweeper drive. Every job runs even when
    some fail (unless `fail_fast`); then `SweepFailedError` lists the failures and carries all outcomes.
    `max_parallel` caps runs in flight (default: no cap remotely, one at a time locally); each job is
    recorded in `<hydra.sweep.dir>/flyte_runs.jsonl`, and `rerun_failed=<that dir>` runs only the jobs
    that did not succeed there. `dry_run=True` prints the planned jobs and runs nothing.
    """
    options = _options_given(locals(), task_inputs, multirun=True)
    request = LaunchRequest(task, config_path, config_name, overrides or (), True, task_inputs, options)
    outcomes = launch(request)
    if any(not o.ok for o in outcomes):
        raise SweepFailedError(outcomes)
    return [o.result for o in outcomes]
