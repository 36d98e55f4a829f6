"""The Hydra `Launcher` that runs each job as a Flyte run.

This is the one adapter between Hydra's `launch(job_overrides, initial_job_idx)` protocol and the
shared executor. Hydra imports the module that subclasses it while scanning `hydra_plugins`, so
nothing heavy (notably `flyte`) is imported at module level.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn, JobStatus, configure_log, setup_globals
from hydra.plugins.launcher import Launcher
from omegaconf import OmegaConf

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from hydra.types import HydraContext, TaskFunction
    from omegaconf import DictConfig

    from ._compose import ComposedJob, SweepComposer
    from ._execute import PlannedJob
    from ._journal import Journal, JournalState
    from ._outcome import JobOutcome
    from ._settings import LaunchSettings, Surface

log = logging.getLogger("flyteplugins.hydra")

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def check_sweeper_compatible(config: DictConfig, settings: LaunchSettings, surface: Surface) -> None:
    """Settings that need a fixed job list, or job results, cannot go with every sweeper."""
    from ._settings import knob

    sweeper = OmegaConf.select(config, "hydra.sweeper._target_", default=BASIC_SWEEPER)
    if sweeper == BASIC_SWEEPER:
        return
    if settings.mode == "remote" and not settings.wait:
        raise ConfigurationError(
            f"{knob('wait', surface)}=false cannot be combined with the sweeper {sweeper}: it needs each job's "
            "result to choose the next trials, and without waiting there are none. Remove wait=false "
            "or use the basic (grid) sweeper."
        )
    for name in ("dry_run", "rerun_failed"):
        if getattr(settings, name):
            raise ConfigurationError(
                f"{knob(name, surface)} works with the basic (grid) sweeper only: {sweeper} chooses its jobs "
                "from earlier results, so they cannot be listed or replayed."
            )


class FlyteLauncher(Launcher):
    """Runs Hydra jobs as Flyte runs: in-process (`mode=local`) or on a Flyte cluster (`mode=remote`)."""

    def __init__(
        self,
        mode: str = "remote",
        wait: bool = True,
        wait_max_workers: int | None = 32,
        max_parallel: int | None = None,
        fail_fast: bool = False,
        dry_run: bool = False,
        rerun_failed: str | None = None,
        task_env_key: str = "task_env",
        surface: Surface = "launcher",
        **_: Any,
    ) -> None:
        self.mode = mode
        self.wait = wait
        self.wait_max_workers = wait_max_workers
        self.max_parallel = max_parallel
        self.fail_fast = fail_fast
        self.dry_run = dry_run
        self.rerun_failed = rerun_failed
        self.task_env_key = task_env_key
        self.surface: Surface = surface
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None
        self.outcomes: list[JobOutcome] = []
        self.after_submit: Callable[[Sequence[JobOutcome]], None] | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from ._compose import ComposingLoader

        # The sweeper shares this context: its batch validation then composes through the fast path too.
        hydra_context.config_loader = ComposingLoader.wrap(hydra_context.config_loader)  # type: ignore[assignment]
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def settings(self) -> LaunchSettings:
        from ._settings import LaunchSettings

        return LaunchSettings.checked(
            surface=self.surface,
            mode=self.mode,
            wait=self.wait,
            wait_max_workers=self.wait_max_workers,
            max_parallel=self.max_parallel,
            fail_fast=self.fail_fast,
            dry_run=self.dry_run,
            rerun_failed=self.rerun_failed,
        )

    def _checked_settings(self) -> LaunchSettings:
        from ._mode import ensure_remote_ready

        assert self.config is not None
        settings = self.settings()
        check_sweeper_compatible(self.config, settings, self.surface)
        if settings.mode == "remote" and not settings.dry_run:
            ensure_remote_ready()
        return settings

    def _planned_job(
        self, num: int, overrides: Sequence[str], returns: dict[int, JobReturn], composer: SweepComposer
    ) -> PlannedJob:
        from ._execute import PlannedJob
        from ._hydra_job import run_job

        assert self.config is not None and self.hydra_context is not None
        config, context, task_function = self.config, self.hydra_context, self.task_function

        def prepare() -> ComposedJob:
            log.info(f"\t#{num} : {' '.join(overrides)}")
            return composer.compose(overrides, num)

        def start(job: ComposedJob) -> Any:
            ret = run_job(hydra_context=context, task_function=task_function, job=job)
            returns[num] = ret
            configure_log(config.hydra.hydra_logging, config.hydra.verbose)
            if ret.status == JobStatus.FAILED:
                raise ret._return_value
            return ret._return_value

        def describe(job: ComposedJob) -> dict[str, Any]:
            section = job.task.get(self.task_env_key)
            return {self.task_env_key: OmegaConf.to_container(section, resolve=True) if section else "none"}

        return PlannedJob(num, list(overrides), prepare, start, describe)

    def _rerun_state(self, settings: LaunchSettings) -> JournalState | None:
        from ._journal import read_journal
        from ._settings import knob

        if settings.rerun_failed is None:
            return None
        return read_journal(settings.rerun_failed, knob=knob("rerun_failed", self.surface))

    def _journal(self, settings: LaunchSettings) -> Journal | None:
        from ._journal import Journal

        assert self.config is not None
        if settings.dry_run:
            return None
        return Journal(settings.rerun_failed or str(self.config.hydra.sweep.dir))

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from ._compose import ComposingLoader
        from ._execute import execute
        from ._journal import planned_again

        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        settings = self._checked_settings()
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info(f"FlyteLauncher ({settings.mode}) is launching {len(job_overrides)} job(s)")

        state = self._rerun_state(settings)
        wanted = planned_again(state, job_overrides, initial_job_idx) if state else [True] * len(job_overrides)
        returns: dict[int, JobReturn] = {}
        composer = ComposingLoader.wrap(self.hydra_context.config_loader).composer(self.config)
        jobs = [
            self._planned_job(initial_job_idx + i, overrides, returns, composer)
            for i, overrides in enumerate(job_overrides)
            if wanted[i]
        ]
        journal = self._journal(settings)
        if journal is not None:
            journal.sweep(surface=self.surface, config_name=self.config.hydra.job.config_name)
        outcomes = {o.num: o for o in execute(jobs, settings, journal=journal, after_submit=self.after_submit)}
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
