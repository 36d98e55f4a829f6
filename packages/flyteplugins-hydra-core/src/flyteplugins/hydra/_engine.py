"""One launch request in, one outcome per job out: the engine behind the SDK and the CLI.

A surface builds a `LaunchRequest` (what to run, with which config, under which `LaunchOptions`)
and calls `launch`. Everything checkable is checked before anything is composed; then the jobs
are planned (a single run, a grid sweep, or a sweep driven by Hydra's sweeper plugin) and handed
to the executor with the options whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, FlyteHydraError
from ._job_outputs import logging_restored
from ._options import DEFAULTS, LaunchOptions, Surface, knob

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader

    from ._compose import SweepComposer
    from ._execute import PlannedJob
    from ._journal import JournalState
    from ._outcome import JobOutcome
    from ._submission import Submission

_FLYTE_LAUNCHER_SELECTION = "hydra/launcher=flyte"


@dataclass(frozen=True)
class LaunchRequest:
    """Everything one launch needs, built once by a surface and passed whole to `launch`.

    >>> request = LaunchRequest(pipeline, overrides=("optimizer.lr=0.1,0.01",), multirun=True,
    ...                         config_path="conf", config_name="training",
    ...                         options=LaunchOptions.parse("sdk", {"mode": "local"}),
    ...                         task_inputs={"dataset": "imagenet"})
    >>> outcomes = launch(request)
    """

    task: Any
    config_path: str | os.PathLike[str] | None = None
    config_name: str | None = "config"
    overrides: Sequence[str] = ()
    multirun: bool = False
    task_inputs: Mapping[str, Any] = field(default_factory=dict)
    options: LaunchOptions = DEFAULTS
    surface: Surface = "sdk"
    after_submit: Callable[[Sequence[JobOutcome]], None] | None = None


def _flyte_overrides(overrides: Sequence[str] | None) -> list[str]:
    """Launches always go through Flyte: drop a redundant launcher selection, refuse another one."""
    if overrides is None:
        return []
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


def _single_job(loader: ConfigLoader, config_name: str | None, overrides: list[str], submit: Submission) -> PlannedJob:
    from ._compose import compose_single
    from ._execute import PlannedJob

    return PlannedJob(
        0,
        overrides,
        lambda: submit.prepare(compose_single(loader, config_name, overrides)),
        submit.start,
        submit.describe,
        run_name=submit.run_name(None),
    )


def _grid_jobs(
    loader: ConfigLoader, request: LaunchRequest, overrides: list[str], submit: Submission, rerun: JournalState | None
) -> tuple[list[PlannedJob], str]:
    """Every job of a grid sweep (or, for a rerun, those not recorded as succeeded) and the sweep directory."""
    from omegaconf import OmegaConf

    from ._compose import SweepComposer, plan_grid_sweep
    from ._execute import PlannedJob

    plan = plan_grid_sweep(loader, request.config_name, overrides)
    sweep_dir = str(OmegaConf.select(plan.primary, "hydra.sweep.dir"))
    numbered = list(enumerate(plan.job_overrides))
    if rerun is not None:
        numbered = [(int(r["num"]), list(r["overrides"])) for r in rerun.unfinished()]
    composer = SweepComposer(loader, plan.primary, plan.parsed)
    composed = _compose_every_job(composer, numbered, submit, keep_going=request.options.dry_run)

    def job(num: int, job_overrides: list[str]) -> PlannedJob:
        def prepare() -> Any:
            found = composed.pop(num)
            if isinstance(found, Exception):
                raise found
            return submit.prepare(found, num, job_overrides)

        return PlannedJob(num, job_overrides, prepare, submit.start, submit.describe, run_name=submit.run_name(num))

    return [job(num, o) for num, o in numbered], sweep_dir


_SHOWN_INVALID = 10


def _compose_every_job(
    composer: SweepComposer, numbered: Sequence[tuple[int, list[str]]], submit: Submission, *, keep_going: bool
) -> dict[int, Any]:
    """Compose and check every job before any starts: one invalid job and nothing runs (as Hydra's own sweeps).

    A dry run keeps going, so that its plan shows each invalid job with its error.
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    composed: dict[int, Any] = {}
    invalid: list[str] = []
    for num, job_overrides in numbered:
        try:
            job = composer.compose(job_overrides, num)
            submit.check(job.task)
        except (HydraException, OmegaConfBaseException, FlyteHydraError) as e:
            composed[num] = e
            invalid.append(f"  job #{num} [{' '.join(job_overrides)}]: {type(e).__name__}: {e}")
        else:
            composed[num] = job
    if invalid and not keep_going:
        more = f"\n  ... and {len(invalid) - _SHOWN_INVALID} more" if len(invalid) > _SHOWN_INVALID else ""
        raise ConfigurationError(
            f"{len(invalid)} of {len(numbered)} jobs of the sweep are invalid, so none was run:\n"
            + "\n".join(invalid[:_SHOWN_INVALID])
            + more
            + "\nFix those overrides (a dry run lists every job with its error) and run the sweep again."
        )
    return composed


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
    loader: ConfigLoader, request: LaunchRequest, overrides: list[str], submit: Submission
) -> list[JobOutcome]:
    """Let Hydra's sweeper plugin (Optuna, ...) drive, with our launcher running each batch."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.plugins import Plugins
    from hydra.types import HydraContext, RunMode
    from omegaconf import OmegaConf

    from ._hydra_compat import callbacks, hydra_runtime
    from ._launcher import FlyteLauncher, check_sweeper_compatible

    hydra = hydra_runtime(submit.task.short_name, loader)
    cfg = hydra.compose_config(request.config_name, overrides, run_mode=RunMode.MULTIRUN, with_log_configuration=True)
    check_sweeper_compatible(cfg, request.options, request.surface)
    HydraConfig.instance().set_config(cfg)
    hooks = callbacks(cfg)
    context = HydraContext(config_loader=loader, callbacks=hooks)
    hooks.on_multirun_start(config=cfg, config_name=request.config_name)
    sweeper = Plugins.instance().instantiate_sweeper(config=cfg, hydra_context=context, task_function=submit)
    launcher = FlyteLauncher.for_request(request)
    launcher.setup(hydra_context=context, task_function=submit, config=cfg)
    _install_launcher(sweeper, launcher)
    arguments = OmegaConf.to_container(cfg.hydra.overrides.task, resolve=False)
    try:
        sweeper.sweep(arguments=arguments)  # type: ignore[arg-type]
    except Exception:
        if not any(not o.ok for o in launcher.outcomes):
            raise
    hooks.on_multirun_end(config=cfg, config_name=request.config_name)
    return launcher.outcomes


@logging_restored()
def launch(request: LaunchRequest) -> list[JobOutcome]:
    """Validate everything checkable, compose, run; one outcome per job in Hydra's job order."""
    from hydra.core.utils import JobRuntime

    from ._compose import check_primary_config, make_config_loader, needs_hydra_runtime
    from ._execute import execute
    from ._journal import Journal, app_overrides, read_journal
    from ._mode import ensure_remote_ready
    from ._report import come_back_later, rerun_plan, sweep_started
    from ._submission import Submission
    from ._sweep import refresh
    from ._task_inputs import check_task_inputs, config_parameter

    options, surface = request.options, request.surface
    options.check_combination(surface, multirun=request.multirun)
    task = request.task
    config_param = config_parameter(task)
    check_task_inputs(task, config_param, request.task_inputs)
    overrides = _flyte_overrides(request.overrides)
    rerun = read_journal(options.rerun_failed, knob=knob("rerun_failed", surface)) if options.rerun_failed else None
    if rerun is not None:
        overrides = rerun.replayed_overrides(overrides, knob=knob("rerun_failed", surface))
        options = rerun.mode_for(options)
        request = replace(request, options=options)
    if options.mode == "remote" and not options.dry_run:
        ensure_remote_ready()
    if rerun is not None:
        rerun = refresh(rerun, options.rerun_failed)
    loader = make_config_loader(request.config_path)
    check_primary_config(loader, request.config_name, request.config_path, knob=knob("config_name", surface))
    JobRuntime().set("name", task.short_name)
    submit = Submission(task, config_param, request.task_inputs, options)
    if rerun is not None:
        submit.identity = submit.identity.rerun_of(rerun.sweep)
        if not needs_hydra_runtime(overrides):
            rerun_plan(options.rerun_failed, len(rerun.jobs), rerun.unfinished(), options.mode)
    if request.multirun and options.driver == "cluster" and not options.dry_run:
        from ._driver_client import launch_on_cluster

        return launch_on_cluster(loader, request, overrides, submit)
    if request.multirun and needs_hydra_runtime(overrides):
        return _sweep_with_hydra_runtime(loader, request, overrides, submit)
    if not request.multirun:
        single = _single_job(loader, request.config_name, overrides, submit)
        return execute([single], options, concurrent_submit=True, after_submit=request.after_submit)
    jobs, sweep_dir = _grid_jobs(loader, request, overrides, submit, rerun)
    journal = None
    if not options.dry_run:
        journal = Journal(options.rerun_failed or sweep_dir)
        if rerun is None:
            journal.sweep(
                surface=surface,
                config_name=request.config_name,
                overrides=app_overrides(overrides),
                **submit.identity.header(mode=options.mode, task=task.name),
            )
        sweep_started(submit.identity.sweep_id, journal.path)
    outcomes = execute(jobs, options, journal=journal, concurrent_submit=True, after_submit=request.after_submit)
    if journal is not None and options.mode == "remote" and not options.wait:
        come_back_later(journal.path.parent)
    return outcomes
