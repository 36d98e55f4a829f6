"""`hydra_run` / `hydra_sweep`: the Python surface, also the engine entry the CLI calls."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, JobFailedError, SweepFailedError
from ._task_env import DEFAULT_TASK_ENV_KEY

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from hydra.core.config_loader import ConfigLoader

    from ._execute import PlannedJob
    from ._outcome import JobOutcome

_FLYTE_LAUNCHER_SELECTION = "hydra/launcher=flyte"


def _check_run_options(run_options: Mapping[str, Any] | None) -> dict[str, Any]:
    import flyte

    options = dict(run_options or {})
    accepted = set(inspect.signature(flyte.with_runcontext).parameters) - {"mode"}
    unknown = sorted(k for k in options if k not in accepted or k.startswith("_"))
    if "mode" in options:
        raise ConfigurationError("run_options must not contain 'mode'; pass mode='local' or mode='remote' instead.")
    if unknown:
        raise ConfigurationError(
            f"Unknown run_options {', '.join(unknown)}: they are passed to flyte.with_runcontext, which accepts "
            f"{', '.join(sorted(k for k in accepted if not k.startswith('_')))}."
        )
    return options


def _check_wait_max_workers(wait_max_workers: int | None) -> None:
    if wait_max_workers is not None and (not isinstance(wait_max_workers, int) or wait_max_workers < 1):
        raise ConfigurationError(
            f"wait_max_workers must be a positive integer or None (one thread per run), got {wait_max_workers!r}."
        )


def _sdk_overrides(overrides: Sequence[str]) -> list[str]:
    """The SDK always launches through Flyte: drop a redundant launcher selection, refuse another one."""
    if isinstance(overrides, str):
        raise ConfigurationError(f"overrides must be a list of strings, got the string {overrides!r}; wrap it: [...].")
    kept = []
    for override in overrides:
        if override.lstrip("+~").startswith("hydra/launcher="):
            if override.lstrip("+") != _FLYTE_LAUNCHER_SELECTION:
                raise ConfigurationError(
                    f"'{override}' selects another launcher, but hydra_run/hydra_sweep always launch with Flyte; "
                    "remove it (use mode='local' to run on this machine)."
                )
            continue
        kept.append(override)
    return kept


class _Submission:
    """How one composed config becomes one Flyte run of the entry task."""

    def __init__(
        self,
        task: Any,
        config_param: str,
        task_inputs: Mapping[str, Any],
        mode: str,
        run_options: Mapping[str, Any],
        task_env_key: str,
    ) -> None:
        self.task = task
        self.config_param = config_param
        self.task_inputs = dict(task_inputs)
        self.mode = mode
        self.run_options = dict(run_options)
        self.task_env_key = task_env_key

    def __call__(self, cfg: DictConfig) -> Any:
        import flyte

        from ._task_env import apply_task_env

        entry = apply_task_env(self.task, cfg, task_env_key=self.task_env_key)
        runner = flyte.with_runcontext(mode=self.mode, **self.run_options)  # type: ignore[arg-type]
        return runner.run(entry, **{self.config_param: cfg}, **self.task_inputs)


def _planned_jobs(
    loader: ConfigLoader, config_name: str | None, overrides: list[str], multirun: bool, submit: _Submission
) -> list[PlannedJob]:
    from ._compose import compose_job, compose_single, plan_grid_sweep, task_config
    from ._execute import PlannedJob

    if not multirun:
        return [PlannedJob(0, overrides, lambda: submit(task_config(compose_single(loader, config_name, overrides))))]
    plan = plan_grid_sweep(loader, config_name, overrides)

    def starter(num: int, job_overrides: list[str]) -> Any:
        return lambda: submit(task_config(compose_job(loader, plan.primary, job_overrides, num)))

    return [PlannedJob(num, job, starter(num, job)) for num, job in enumerate(plan.job_overrides)]


def _install_launcher(sweeper: Any, launcher: Any) -> None:
    """Point the sweeper, and a sweeper it wraps (as Optuna's does), at our launcher.

    Sweepers keep the launcher they instantiated in `.launcher`. The SDK always launches with Flyte,
    whether or not the hydra-flyte-launcher plugin is installed for Hydra to instantiate by name.
    """
    from hydra.plugins.sweeper import Sweeper

    targets = [sweeper, *(v for v in vars(sweeper).values() if isinstance(v, Sweeper))]
    for target in targets:
        if hasattr(target, "launcher"):
            target.launcher = launcher


def _sweep_with_hydra_runtime(
    loader: ConfigLoader,
    config_name: str | None,
    overrides: list[str],
    submit: _Submission,
    *,
    wait: bool,
    wait_max_workers: int | None,
    after_submit: Callable[[Sequence[JobOutcome]], None] | None,
) -> list[JobOutcome]:
    """Let Hydra's sweeper plugin (Optuna, ...) drive, with our launcher running each batch."""
    from omegaconf import OmegaConf

    from hydra._internal.callbacks import Callbacks
    from hydra._internal.hydra import Hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.plugins import Plugins
    from hydra.types import HydraContext, RunMode

    from ._launcher import FlyteLauncher

    hydra = Hydra(task_name=submit.task.short_name, config_loader=loader)
    cfg = hydra.compose_config(config_name, overrides, run_mode=RunMode.MULTIRUN, with_log_configuration=True)
    HydraConfig.instance().set_config(cfg)
    callbacks = Callbacks(cfg)
    context = HydraContext(config_loader=loader, callbacks=callbacks)
    callbacks.on_multirun_start(config=cfg, config_name=config_name)
    sweeper = Plugins.instance().instantiate_sweeper(config=cfg, hydra_context=context, task_function=submit)
    launcher = FlyteLauncher(mode=submit.mode, wait=wait, wait_max_workers=wait_max_workers)
    launcher.after_submit = after_submit
    launcher.setup(hydra_context=context, task_function=submit, config=cfg)
    _install_launcher(sweeper, launcher)
    arguments = OmegaConf.to_container(cfg.hydra.overrides.task, resolve=False)
    try:
        sweeper.sweep(arguments=arguments)  # type: ignore[arg-type]
    except Exception:
        if not any(not o.ok for o in launcher.outcomes):
            raise
    callbacks.on_multirun_end(config=cfg, config_name=config_name)
    return launcher.outcomes


def launch(
    task: Any,
    *,
    config_path: str | os.PathLike[str] | None,
    config_name: str | None,
    overrides: Sequence[str],
    mode: str,
    wait: bool,
    wait_max_workers: int | None,
    run_options: Mapping[str, Any] | None,
    task_env_key: str,
    multirun: bool,
    task_inputs: Mapping[str, Any],
    after_submit: Callable[[Sequence[JobOutcome]], None] | None = None,
) -> list[JobOutcome]:
    """Validate everything checkable, compose, run; one outcome per job in Hydra's job order.

    `after_submit` is handed to the executor: it runs once a batch of remote jobs is submitted.
    """
    from hydra.core.utils import JobRuntime

    from ._compose import make_config_loader, needs_hydra_runtime
    from ._execute import execute
    from ._mode import check_mode, ensure_remote_ready
    from ._task_inputs import check_task_inputs, config_parameter

    checked_mode = check_mode(mode)
    _check_wait_max_workers(wait_max_workers)
    options = _check_run_options(run_options)
    config_param = config_parameter(task)
    check_task_inputs(task, config_param, task_inputs)
    hydra_overrides = _sdk_overrides(overrides)
    if checked_mode == "remote":
        ensure_remote_ready()
    loader = make_config_loader(config_path)
    JobRuntime().set("name", task.short_name)
    submit = _Submission(task, config_param, task_inputs, checked_mode, options, task_env_key)
    if multirun and needs_hydra_runtime(hydra_overrides):
        return _sweep_with_hydra_runtime(
            loader,
            config_name,
            hydra_overrides,
            submit,
            wait=wait,
            wait_max_workers=wait_max_workers,
            after_submit=after_submit,
        )
    jobs = _planned_jobs(loader, config_name, hydra_overrides, multirun, submit)
    return execute(jobs, mode=checked_mode, wait=wait, wait_max_workers=wait_max_workers, after_submit=after_submit)


def hydra_run(
    task: Any,
    *,
    config_path: str | os.PathLike[str] | None = None,
    config_name: str | None = None,
    overrides: Sequence[str] = (),
    mode: str = "remote",
    wait: bool = True,
    wait_max_workers: int | None = 32,
    run_options: Mapping[str, Any] | None = None,
    task_env_key: str = DEFAULT_TASK_ENV_KEY,
    **task_inputs: Any,
) -> Any:
    """Compose one config and run `task` with it; returns a `RunResult` (or the `flyte.remote.Run` if not waiting).

    >>> result = hydra_run(pipeline, config_path="conf", config_name="training",
    ...                    overrides=["optimizer.lr=0.01"], mode="local", dataset="imagenet")
    >>> float(result)

    Raises `JobFailedError` when the run fails.
    """
    (outcome,) = launch(
        task,
        config_path=config_path,
        config_name=config_name,
        overrides=overrides,
        mode=mode,
        wait=wait,
        wait_max_workers=wait_max_workers,
        run_options=run_options,
        task_env_key=task_env_key,
        multirun=False,
        task_inputs=task_inputs,
    )
    if not outcome.ok:
        raise JobFailedError(outcome) from outcome.error
    return outcome.result


def hydra_sweep(
    task: Any,
    *,
    config_path: str | os.PathLike[str] | None = None,
    config_name: str | None = None,
    overrides: Sequence[str] = (),
    mode: str = "remote",
    wait: bool = True,
    wait_max_workers: int | None = 32,
    run_options: Mapping[str, Any] | None = None,
    task_env_key: str = DEFAULT_TASK_ENV_KEY,
    **task_inputs: Any,
) -> list[Any]:
    """Expand sweep overrides and run `task` once per job; results come back in Hydra's job order.

    >>> results = hydra_sweep(pipeline, config_path="conf", config_name="training",
    ...                       overrides=["optimizer.lr=0.001,0.01", "training.epochs=1,2"],
    ...                       mode="local", dataset="imagenet")
    >>> [float(r) for r in results]  # four values

    A `hydra/sweeper=...` override (e.g. Optuna) lets that sweeper drive. Every job runs even when
    some fail; then `SweepFailedError` lists the failures and carries all outcomes.
    """
    outcomes = launch(
        task,
        config_path=config_path,
        config_name=config_name,
        overrides=overrides,
        mode=mode,
        wait=wait,
        wait_max_workers=wait_max_workers,
        run_options=run_options,
        task_env_key=task_env_key,
        multirun=True,
        task_inputs=task_inputs,
    )
    if any(not o.ok for o in outcomes):
        raise SweepFailedError(outcomes)
    return [o.result for o in outcomes]
