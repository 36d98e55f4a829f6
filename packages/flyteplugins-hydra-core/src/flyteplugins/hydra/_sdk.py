"""`hydra_run` / `hydra_sweep`: the Python surface, also the engine entry the CLI calls."""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ._errors import ConfigurationError, JobFailedError, SweepFailedError
from ._flyte_compat import SweepCodeBundle, run_local_on_own_loop
from ._task_env import DEFAULT_TASK_ENV_KEY

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader
    from omegaconf import DictConfig

    from ._execute import PlannedJob
    from ._journal import JournalState
    from ._outcome import JobOutcome
    from ._settings import LaunchSettings, Surface

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


def _lowered_for_display(kwargs: Mapping[str, Any]) -> dict[str, str]:
    shown = {}
    for key, value in kwargs.items():
        if key == "pod_template":
            primary = next((c for c in value.pod_spec.containers if c.name == value.primary_container_name), None)
            shown["image"] = f"{getattr(primary, 'image', None)} (container {value.primary_container_name!r})"
        else:
            shown[key] = repr(value)
    return shown


class _Prepared(NamedTuple):
    entry: Any
    cfg: DictConfig
    name: str | None


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
        self.sweep_id = secrets.token_hex(3)
        self.bundle = SweepCodeBundle()

    def run_name(self, num: int | None) -> str | None:
        """Run names unique within a sweep: a given `name` gets the job number appended, and local
        sweep jobs are named `<task>-<sweep id>-<job>` so their log lines say which job they belong to."""
        name = self.run_options.get("name")
        if num is None:
            return name
        if name:
            return f"{name}-{num}"
        return f"{self.task.short_name}-{self.sweep_id}-{num}" if self.mode == "local" else None

    def prepare(self, cfg: DictConfig, num: int | None = None) -> _Prepared:
        """The entry task with its `task_env` applied, the config it will receive, and the run's name."""
        from ._compose import task_config
        from ._task_env import apply_task_env

        cfg = task_config(cfg)
        entry = apply_task_env(self.task, cfg, task_env_key=self.task_env_key)
        return _Prepared(entry, cfg, self.run_name(num))

    def start(self, prepared: _Prepared) -> Any:
        import flyte

        options = dict(self.run_options)
        if prepared.name:
            options["name"] = prepared.name
        runner = flyte.with_runcontext(mode=self.mode, **options)  # type: ignore[arg-type]
        inputs = {self.config_param: prepared.cfg, **self.task_inputs}
        if self.mode == "local":
            return run_local_on_own_loop(runner, prepared.entry, **inputs)
        return self.bundle.apply(runner).run(prepared.entry, **inputs)

    def describe(self, prepared: _Prepared) -> dict[str, Any]:
        from ._task_env import lower_task_env, task_env_section

        section = task_env_section(prepared.cfg, self.task.short_name, self.task_env_key)
        where = f"{self.task_env_key}.{self.task.short_name}"
        lowered = _lowered_for_display(lower_task_env(self.task, section, where)) if section else "none"
        return {"task": self.task.name, "mode": self.mode, "task_env": lowered}

    def __call__(self, cfg: DictConfig) -> Any:
        """Hydra task function for the sweeper-driven path (Hydra has already removed the `hydra` node)."""
        from hydra.core.hydra_config import HydraConfig

        return self.start(self.prepare(cfg, HydraConfig.get().job.get("num")))


def _job(num: int, overrides: list[str], compose: Callable[[], DictConfig], submit: _Submission) -> PlannedJob:
    from ._execute import PlannedJob

    return PlannedJob(num, overrides, lambda: submit.prepare(compose(), num), submit.start, submit.describe)


def _single_job(loader: ConfigLoader, config_name: str | None, overrides: list[str], submit: _Submission) -> PlannedJob:
    from ._compose import compose_single
    from ._execute import PlannedJob

    return PlannedJob(
        0,
        overrides,
        lambda: submit.prepare(compose_single(loader, config_name, overrides)),
        submit.start,
        submit.describe,
    )


def _sweep_jobs(
    loader: ConfigLoader,
    config_name: str | None,
    overrides: list[str],
    submit: _Submission,
    rerun: JournalState | None,
) -> tuple[list[PlannedJob], str]:
    """Every job of a grid sweep (or, for a rerun, those not recorded as succeeded) and the sweep directory."""
    from omegaconf import OmegaConf

    from ._compose import SweepComposer, plan_grid_sweep

    if rerun is not None:
        overrides = list(rerun.sweep.get("overrides", overrides))
    plan = plan_grid_sweep(loader, config_name, overrides)
    sweep_dir = str(OmegaConf.select(plan.primary, "hydra.sweep.dir"))
    if rerun is None:
        numbered = list(enumerate(plan.job_overrides))
    else:
        numbered = [(int(r["num"]), list(r["overrides"])) for r in rerun.unfinished()]

    composer = SweepComposer(loader, plan.primary)

    def compose(num: int, job_overrides: list[str]) -> Callable[[], DictConfig]:
        return lambda: composer.compose(job_overrides, num)

    jobs = [_job(num, job, compose(num, job), submit) for num, job in numbered]
    return jobs, sweep_dir


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
    settings: LaunchSettings,
    surface: Surface,
    after_submit: Callable[[Sequence[JobOutcome]], None] | None,
) -> list[JobOutcome]:
    """Let Hydra's sweeper plugin (Optuna, ...) drive, with our launcher running each batch."""
    from hydra._internal.callbacks import Callbacks
    from hydra._internal.hydra import Hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.plugins import Plugins
    from hydra.types import HydraContext, RunMode
    from omegaconf import OmegaConf

    from ._launcher import FlyteLauncher, check_sweeper_compatible

    hydra = Hydra(task_name=submit.task.short_name, config_loader=loader)
    cfg = hydra.compose_config(config_name, overrides, run_mode=RunMode.MULTIRUN, with_log_configuration=True)
    check_sweeper_compatible(cfg, settings, surface)
    HydraConfig.instance().set_config(cfg)
    callbacks = Callbacks(cfg)
    context = HydraContext(config_loader=loader, callbacks=callbacks)
    callbacks.on_multirun_start(config=cfg, config_name=config_name)
    sweeper = Plugins.instance().instantiate_sweeper(config=cfg, hydra_context=context, task_function=submit)
    launcher = FlyteLauncher(
        mode=settings.mode,
        wait=settings.wait,
        wait_max_workers=settings.wait_max_workers,
        max_parallel=settings.max_parallel,
        fail_fast=settings.fail_fast,
        task_env_key=submit.task_env_key,
        surface=surface,
    )
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
    max_parallel: int | None = None,
    fail_fast: bool = False,
    dry_run: bool = False,
    rerun_failed: str | os.PathLike[str] | None = None,
    surface: Surface = "sdk",
    after_submit: Callable[[Sequence[JobOutcome]], None] | None = None,
) -> list[JobOutcome]:
    """Validate everything checkable, compose, run; one outcome per job in Hydra's job order.

    `after_submit` is handed to the executor: it runs once a batch of remote jobs is submitted.
    """
    from hydra.core.utils import JobRuntime

    from ._compose import make_config_loader, needs_hydra_runtime
    from ._execute import execute
    from ._journal import Journal, read_journal
    from ._mode import ensure_remote_ready
    from ._settings import LaunchSettings, knob
    from ._task_inputs import check_task_inputs, config_parameter

    settings = LaunchSettings.checked(
        surface=surface,
        mode=mode,
        wait=wait,
        wait_max_workers=wait_max_workers,
        max_parallel=max_parallel,
        fail_fast=fail_fast,
        dry_run=dry_run,
        rerun_failed=None if rerun_failed is None else os.fspath(rerun_failed),
    )
    options = _check_run_options(run_options)
    config_param = config_parameter(task)
    check_task_inputs(task, config_param, task_inputs)
    hydra_overrides = _sdk_overrides(overrides)
    if settings.rerun_failed and not multirun:
        raise ConfigurationError(f"{knob('rerun_failed', surface)} reruns a sweep; use it with a multirun/sweep.")
    rerun = read_journal(settings.rerun_failed, knob=knob("rerun_failed", surface)) if settings.rerun_failed else None
    if settings.mode == "remote" and not settings.dry_run:
        ensure_remote_ready()
    loader = make_config_loader(config_path)
    JobRuntime().set("name", task.short_name)
    submit = _Submission(task, config_param, task_inputs, settings.mode, options, task_env_key)
    if multirun and needs_hydra_runtime(hydra_overrides):
        return _sweep_with_hydra_runtime(loader, config_name, hydra_overrides, submit, settings, surface, after_submit)
    if not multirun:
        single = _single_job(loader, config_name, hydra_overrides, submit)
        return execute([single], settings, concurrent_submit=True, after_submit=after_submit)
    jobs, sweep_dir = _sweep_jobs(loader, config_name, hydra_overrides, submit, rerun)
    journal = None
    if not settings.dry_run:
        journal = Journal(settings.rerun_failed or sweep_dir)
        if rerun is None:
            journal.sweep(surface=surface, config_name=config_name, overrides=hydra_overrides)
    return execute(jobs, settings, journal=journal, concurrent_submit=True, after_submit=after_submit)


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
    dry_run: bool = False,
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
        dry_run=dry_run,
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
    max_parallel: int | None = None,
    fail_fast: bool = False,
    dry_run: bool = False,
    rerun_failed: str | os.PathLike[str] | None = None,
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
        max_parallel=max_parallel,
        fail_fast=fail_fast,
        dry_run=dry_run,
        rerun_failed=rerun_failed,
    )
    if any(not o.ok for o in outcomes):
        raise SweepFailedError(outcomes)
    return [o.result for o in outcomes]
