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

from omegaconf import OmegaConf

from hydra.core.utils import JobReturn, JobStatus, configure_log, run_job, setup_globals
from hydra.plugins.launcher import Launcher

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from hydra.types import HydraContext, TaskFunction

    from ._outcome import JobOutcome

log = logging.getLogger("flyteplugins.hydra")

_BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


class FlyteLauncher(Launcher):
    """Runs Hydra jobs as Flyte runs: in-process (`mode=local`) or on a Flyte cluster (`mode=remote`)."""

    def __init__(self, mode: str = "remote", wait: bool = True, wait_max_workers: int | None = 32, **_: Any) -> None:
        self.mode = mode
        self.wait = wait
        self.wait_max_workers = wait_max_workers
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None
        self.outcomes: list[JobOutcome] = []
        self.after_submit: Callable[[Sequence[JobOutcome]], None] | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def _check_before_launch(self) -> str:
        from ._mode import check_mode, ensure_remote_ready

        assert self.config is not None
        mode = check_mode(self.mode, knob="hydra.launcher.mode")
        if self.wait_max_workers is not None and int(self.wait_max_workers) < 1:
            raise ConfigurationError(
                f"hydra.launcher.wait_max_workers must be a positive number or null (one thread per run), "
                f"got {self.wait_max_workers!r}."
            )
        sweeper = OmegaConf.select(self.config, "hydra.sweeper._target_", default=_BASIC_SWEEPER)
        if mode == "remote" and not self.wait and sweeper != _BASIC_SWEEPER:
            raise ConfigurationError(
                f"hydra.launcher.wait=false cannot be combined with the sweeper {sweeper}: it needs each job's "
                "result to choose the next trials, and without waiting there are none. Remove wait=false "
                "or use the basic (grid) sweeper."
            )
        if mode == "remote":
            ensure_remote_ready()
        return mode

    def _job_config(self, overrides: Sequence[str], num: int) -> DictConfig:
        from ._compose import compose_job

        assert self.config is not None and self.hydra_context is not None
        return compose_job(self.hydra_context.config_loader, self.config, overrides, num)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from ._execute import PlannedJob, execute

        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        mode = self._check_before_launch()
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info(f"FlyteLauncher ({mode}) is launching {len(job_overrides)} job(s)")

        returns: dict[int, JobReturn] = {}

        def starter(index: int, overrides: Sequence[str]) -> Any:
            def start() -> Any:
                num = initial_job_idx + index
                log.info(f"\t#{num} : {' '.join(overrides)}")
                ret = run_job(
                    hydra_context=self.hydra_context,
                    task_function=self.task_function,
                    config=self._job_config(overrides, num),
                    job_dir_key="hydra.sweep.dir",
                    job_subdir_key="hydra.sweep.subdir",
                )
                returns[index] = ret
                configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
                if ret.status == JobStatus.FAILED:
                    raise ret._return_value
                return ret._return_value

            return start

        jobs = [
            PlannedJob(initial_job_idx + i, list(overrides), starter(i, overrides))
            for i, overrides in enumerate(job_overrides)
        ]
        outcomes = execute(
            jobs,
            mode=mode,  # type: ignore[arg-type]
            wait=self.wait,
            wait_max_workers=self.wait_max_workers,
            after_submit=self.after_submit,
        )
        self.outcomes.extend(outcomes)
        return [self._job_return(returns.get(i), outcome) for i, outcome in enumerate(outcomes)]

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
