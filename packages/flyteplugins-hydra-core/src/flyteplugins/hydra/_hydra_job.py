"""Hydra's per-job protocol for one launcher job, without copying the job's config three more times.

Hydra's `hydra.core.utils.run_job` (checked against hydra-core 1.3) deep-copies the whole composed
config for the task, copies the `hydra` node twice for `HydraConfig` and once more for the
`JobReturn` it keeps: per job, several times the cost of the Flyte run it launches, and the kept
copies are why memory grew with every job of a sweep. This does the same steps in the same order
(output directory, `HydraConfig`, working directory, job logging, `.hydra/*.yaml`, `env_set`,
callbacks, task name) on a `ComposedJob`, whose task config is already its own and whose `hydra`
node is shared; the `JobReturn` makes its `hydra_cfg` copy only when something reads it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn, JobRuntime, JobStatus, configure_log, env_override

if TYPE_CHECKING:
    from hydra.types import HydraContext, TaskFunction
    from omegaconf import DictConfig

    from ._compose import ComposedJob
    from ._job_outputs import Snapshots


class LazyJobReturn(JobReturn):
    """Hydra's `JobReturn`, whose `hydra_cfg` (a private copy of the job's `hydra` node) is made on first read."""

    def __init__(self, job: ComposedJob) -> None:
        self._job: ComposedJob | None = None
        self._hydra_cfg: DictConfig | None = None
        super().__init__()
        self._job = job

    @property  # type: ignore[override]
    def hydra_cfg(self) -> DictConfig | None:
        if self._hydra_cfg is None and self._job is not None:
            self._hydra_cfg = self._job.hydra_config()
        return self._hydra_cfg

    @hydra_cfg.setter
    def hydra_cfg(self, value: DictConfig | None) -> None:
        self._hydra_cfg = value


def _flush_logs() -> None:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            handler.flush()


def _change_dir(chdir: bool | None) -> bool:
    """Hydra's `hydra.job.chdir` default: off from version_base 1.2, else on with a deprecation warning."""
    from hydra import version

    if chdir is not None:
        return chdir
    if version.base_at_least("1.2"):
        return False
    from ._hydra_compat import deprecation_warning

    deprecation_warning(
        message="Future Hydra versions will no longer change working directory at job runtime by default.\n"
        "See https://hydra.cc/docs/1.2/upgrades/1.1_to_1.2/changes_to_job_working_dir/ for more information.",
        stacklevel=2,
    )
    return True


def run_job(
    *,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    job: ComposedJob,
    snapshots: Snapshots,
    may_chdir: bool = True,
) -> JobReturn:
    """Run `task_function` on `job` as Hydra's `run_job` does for a sweep job (`hydra.sweep.dir`/`subdir`).

    The working directory belongs to the whole process: jobs that run side by side in threads
    (`may_chdir=False`) never change it, whatever `hydra.job.chdir` says.
    """
    from hydra.core.hydra_config import HydraConfig

    callbacks = hydra_context.callbacks
    old_cwd = os.getcwd()
    previous = HydraConfig.instance().cfg
    chdir = False
    try:
        config = job.activate()
        hydra = HydraConfig.get()
        assert job.output_dir is not None
        ret = LazyJobReturn(job)
        ret.cfg = job.task
        ret.overrides = job.overrides
        Path(job.output_dir).mkdir(parents=True, exist_ok=True)
        chdir = may_chdir and _change_dir(hydra.job.chdir)
        if chdir:
            os.chdir(job.output_dir)
        ret.working_dir = job.output_dir if chdir else os.getcwd()
        configure_log(hydra.job_logging, hydra.verbose)
        if hydra.output_subdir is not None:
            snapshots.write(Path(job.output_dir) / str(hydra.output_subdir), job)
        job.fix_hydra_values()  # after config.yaml, which Hydra writes as composed
        with env_override(hydra.job.env_set):
            callbacks.on_job_start(config=config, task_function=task_function)
            try:
                ret.return_value = task_function(job.task)
                ret.status = JobStatus.COMPLETED
            except Exception as e:
                ret.return_value = e
                ret.status = JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        _flush_logs()
        callbacks.on_job_end(config=config, job_return=ret)
        return ret
    finally:
        HydraConfig.instance().cfg = previous
        if chdir:
            os.chdir(old_cwd)
