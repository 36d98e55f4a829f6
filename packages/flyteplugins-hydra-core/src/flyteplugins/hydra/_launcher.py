"""The Hydra `Launcher` that runs each job as a Flyte run.

This is the one adapter between Hydra's `launch(job_overrides, initial_job_idx)` protocol and the
shared executor. Hydra imports the module that subclasses it while scanning `hydra_plugins`, so
nothing heavy (notably `flyte`) is imported at module level. With `hydra.launcher.driver=cluster` it
hands the whole sweep to one driver run instead (`_driver_app`), which runs this launcher inside.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn, JobStatus, setup_globals
from hydra.plugins.launcher import Launcher
from omegaconf import OmegaConf

from ._errors import ConfigurationError
from ._hydra_job import JobLogging
from ._job_outputs import Snapshots

if TYPE_CHECKING:
    from hydra.types import HydraContext, TaskFunction
    from omegaconf import DictConfig

    from ._compose import ComposedJob, SweepComposer
    from ._engine import LaunchRequest
    from ._execute import PlannedJob
    from ._journal import Journal, JournalState
    from ._options import LaunchOptions, Surface
    from ._outcome import JobOutcome

log = logging.getLogger("flyteplugins.hydra")


def check_sweeper_compatible(config: DictConfig, options: LaunchOptions, surface: Surface) -> None:
    """Options that need a fixed job list, or job results, cannot go with every sweeper."""
    from ._hydra_compat import BASIC_SWEEPER
    from ._options import knob

    sweeper = OmegaConf.select(config, "hydra.sweeper._target_", default=BASIC_SWEEPER)
    if sweeper == BASIC_SWEEPER:
        return
    if options.mode == "remote" and not options.wait:
        raise ConfigurationError(
            f"{knob('wait', surface)}=false cannot be combined with the sweeper {sweeper}: it needs each job's "
            "result to choose the next trials, and without waiting there are none. Remove wait=false "
            "or use the basic (grid) sweeper."
        )
    for name in ("dry_run", "rerun_failed"):
        if getattr(options, name):
            raise ConfigurationError(
                f"{knob(name, surface)} works with the basic (grid) sweeper only: {sweeper} chooses its jobs "
                "from earlier results, so they cannot be listed or replayed."
            )


class FlyteLauncher(Launcher):
    """Runs Hydra jobs as Flyte runs: in-process (`mode=local`) or on a Flyte cluster (`mode=remote`).

    Hydra instantiates it with the `hydra.launcher` node's values; the SDK and CLI hand it their
    whole `LaunchRequest` through `for_request`. Either way it keeps one `LaunchOptions`.
    """

    def __init__(self, **config: Any) -> None:
        self._config_values = {k: v for k, v in config.items() if k != "_target_"}
        self._options: LaunchOptions | None = None
        self.surface: Surface = "launcher"
        self.after_submit: Callable[[Sequence[JobOutcome]], None] | None = None
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None
        self.outcomes: list[JobOutcome] = []
        self._journal_started = False
        self._driven: list[JobOutcome] | None = None  # with driver=cluster: the driver's outcomes
        self._snapshots = Snapshots()
        self._logs = JobLogging()

    @classmethod
    def for_request(cls, request: LaunchRequest) -> FlyteLauncher:
        launcher = cls()
        launcher._options, launcher.surface, launcher.after_submit = (
            request.options,
            request.surface,
            request.after_submit,
        )
        return launcher

    @property
    def options(self) -> LaunchOptions:
        """The launch options; for Hydra's instance, checked on first use (errors name `hydra.launcher.*`)."""
        from ._options import LaunchOptions

        if self._options is None:
            self._options = LaunchOptions.parse("launcher", self._config_values)
        return self._options

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from ._compose import ComposingLoader

        # The sweeper shares this context: its batch validation then composes through the fast path too.
        hydra_context.config_loader = ComposingLoader.wrap(hydra_context.config_loader)  # type: ignore[assignment]
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def _checked_options(self) -> LaunchOptions:
        from ._mode import ensure_remote_ready

        assert self.config is not None
        options = self.options
        check_sweeper_compatible(self.config, options, self.surface)
        if options.mode == "remote" and not options.dry_run:
            ensure_remote_ready()
        return options

    def _planned_job(
        self, num: int, overrides: Sequence[str], returns: dict[int, JobReturn], composer: SweepComposer
    ) -> PlannedJob:
        from ._execute import PlannedJob
        from ._hydra_compat import job_return_value
        from ._hydra_job import GLOBAL_STATE, run_job
        from ._task_env import task_env_key_scope

        assert self.config is not None and self.hydra_context is not None
        config, context, task_function = self.config, self.hydra_context, self.task_function
        snapshots, logs = self._snapshots, self._logs

        def prepare() -> ComposedJob:
            log.info(f"\t#{num} : {' '.join(overrides)}")
            return composer.compose(overrides, num)

        # Local jobs side by side share this process's working directory; only the app's own launch may move it.
        options = self.options
        may_chdir = self.surface == "launcher" and not (options.mode == "local" and (options.parallel or 1) > 1)

        def start(job: ComposedJob) -> Any:
            with task_env_key_scope(self.options.task_env_key):
                ret = run_job(
                    hydra_context=context,
                    task_function=task_function,
                    job=job,
                    snapshots=snapshots,
                    logs=logs,
                    may_chdir=may_chdir,
                )
            returns[num] = ret
            with GLOBAL_STATE:
                logs.launcher(config)
            value = job_return_value(ret)
            if ret.status == JobStatus.FAILED:
                raise value
            return value

        def describe(job: ComposedJob) -> dict[str, Any]:
            key = self.options.task_env_key
            section = job.task.get(key)
            return {key: OmegaConf.to_container(section, resolve=True) if section else "none"}

        return PlannedJob(num, list(overrides), prepare, start, describe)

    def _rerun_state(self, options: LaunchOptions) -> JournalState | None:
        from ._journal import read_journal
        from ._options import knob

        if options.rerun_failed is None:
            return None
        assert self.config is not None
        state = read_journal(options.rerun_failed, knob=knob("rerun_failed", self.surface))
        state.replayed_overrides(
            list(self.config.hydra.overrides.task), knob=knob("rerun_failed", self.surface), exact=True
        )
        return state

    def _journal(self, options: LaunchOptions, rerun: bool) -> Journal | None:
        """The sweep's journal; its header is written once per sweep, not per batch, and not for a rerun."""
        from ._identity import sweep_header
        from ._journal import Journal

        assert self.config is not None
        if options.dry_run:
            return None
        journal = Journal(options.rerun_failed or str(self.config.hydra.sweep.dir))
        if not rerun and not self._journal_started:
            journal.sweep(
                surface=self.surface,
                config_name=self.config.hydra.job.config_name,
                overrides=list(self.config.hydra.overrides.task),
                **sweep_header(None, mode=options.mode, task=self.config.hydra.job.name),
            )
        self._journal_started = True
        return journal

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from ._compose import ComposingLoader
        from ._execute import execute
        from ._journal import planned_again
        from ._report import come_back_later, rerun_plan
        from ._sweep import refresh

        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        if self.options.driver == "cluster" and not self.options.dry_run:
            return self._launch_driven(job_overrides, initial_job_idx)
        state = self._rerun_state(self.options)
        if state is not None:
            self._options = state.mode_for(self.options)
        options = self._checked_options()
        setup_globals()
        self._logs.launcher(self.config)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info(f"FlyteLauncher ({options.mode}) is launching {len(job_overrides)} job(s)")

        if state is not None:
            state = refresh(state, options.rerun_failed)
        wanted = planned_again(state, job_overrides, initial_job_idx) if state else [True] * len(job_overrides)
        if state is not None:
            again = [state.jobs.get(initial_job_idx + i) for i, w in enumerate(wanted) if w]
            rerun_plan(options.rerun_failed, len(state.jobs), [r for r in again if r is not None], options.mode)
        returns: dict[int, JobReturn] = {}
        composer = ComposingLoader.wrap(self.hydra_context.config_loader).composer(self.config)
        jobs = [
            self._planned_job(initial_job_idx + i, overrides, returns, composer)
            for i, overrides in enumerate(job_overrides)
            if wanted[i]
        ]
        journal = self._journal(options, rerun=state is not None)
        outcomes = {o.num: o for o in execute(jobs, options, journal=journal, after_submit=self.after_submit)}
        if journal is not None and options.mode == "remote" and not options.wait:
            come_back_later(journal.path.parent)
        self.outcomes.extend(outcomes.values())
        results = []
        for i, overrides in enumerate(job_overrides):
            num = initial_job_idx + i
            if num in outcomes:
                results.append(self._job_return(returns.get(num), outcomes[num]))
            else:
                assert state is not None
                results.append(self._recorded_return(overrides, state.jobs[num]["result"]))
        return results

    def _launch_driven(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """driver=cluster: the first batch submits the whole sweep as one driver run (see `_driver_app`).

        The basic sweeper then gets each batch's results from the driver's; a sampling sweeper (Optuna, ...)
        would choose further trials here, so once the driver's study is over this process exits with its status.
        """
        from ._driver_app import job_returns, submit_app_sweep
        from ._hydra_compat import BASIC_SWEEPER
        from ._mode import ensure_remote_ready

        assert self.config is not None
        options = self.options
        # The driver waits for its trials, so a sampling sweeper gets its results even with wait=false here.
        check_sweeper_compatible(self.config, options.replace(wait=True), self.surface)
        if self._driven is None:
            ensure_remote_ready()
            self._driven = submit_app_sweep(self, job_overrides, initial_job_idx)
            self.outcomes = list(self._driven)
            if OmegaConf.select(self.config, "hydra.sweeper._target_", default=BASIC_SWEEPER) != BASIC_SWEEPER:
                raise SystemExit(0 if all(o.ok for o in self._driven) else 1)
        return job_returns(self._driven, job_overrides, initial_job_idx)

    @staticmethod
    def _recorded_return(overrides: Sequence[str], value: Any) -> JobReturn:
        ret = JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED)
        ret.return_value = value
        return ret

    @staticmethod
    def _job_return(ret: JobReturn | None, outcome: JobOutcome) -> JobReturn:
        if ret is None:
            ret = JobReturn(overrides=list(outcome.overrides))
        if outcome.ok:
            ret.status = JobStatus.COMPLETED
            ret.return_value = outcome.result
        else:
            ret.status = JobStatus.FAILED
            ret.return_value = outcome.error
        return ret
