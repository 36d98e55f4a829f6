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
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn, JobRuntime, JobStatus, configure_log, env_override

from ._errors import ConfigurationError
from ._log_replay import LogReplay

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


GLOBAL_STATE = threading.RLock()
"""Held while a job changes what the whole process shares: Hydra's current job, logging, the working directory.

Parallel local jobs run in threads of one process. Without it, one job's logging could be set up with
another's log file (whose folder does not exist yet) or restore Hydra's current job under another.
The task itself runs outside it.
"""

_DEFAULT_LOG_FILE = "${hydra.runtime.output_dir}/${hydra.job.name}.log"


class JobLogging:
    """Hydra's `configure_log` for each launcher job and back to `hydra_logging` after it, without re-resolving.

    `configure_log` resolves the logging node (`OmegaConf.to_container(resolve=True)`, which parses
    every interpolation again) before Python's `dictConfig` applies it. Jobs that share a `hydra` node
    share their `job_logging` but for the leaves written as interpolations (the log file's name), so
    each node's is resolved once into a plain config and only those leaves are resolved per job;
    `hydra_logging` comes from the primary config and is the same for every job. Applying them goes
    through `LogReplay`: the first time, and whenever anything but a log file's name differs (or
    anything looks unfamiliar), Hydra's `configure_log` itself (its checks included); otherwise a
    replay of what it did, with the same handlers and a new log file.
    """

    def __init__(self) -> None:
        self._jobs: dict[int, tuple[Any, Any, dict[str, Any], list[tuple[str, str]], Any, str]] = {}
        self._hydra_logging: tuple[Any, Any, Any, Any] | None = None
        self.replay = LogReplay()

    @staticmethod
    def _plain(node: Any) -> tuple[Any, dict[str, Any], list[tuple[str, str]]]:
        """`node` as a config without interpolations, the same as a dict, and the leaves that had one."""
        from omegaconf import OmegaConf

        written = OmegaConf.to_container(node, resolve=False)
        resolved = OmegaConf.to_container(node, resolve=True)
        paths: list[tuple[str, str]] = []

        def walk(value: Any, path: str) -> None:
            if isinstance(value, dict):
                for key, child in value.items():
                    walk(child, f"{path}.{key}" if path else str(key))
            elif isinstance(value, list):
                for index, child in enumerate(value):
                    walk(child, f"{path}.{index}")
            elif isinstance(value, str) and "${" in value:
                paths.append((path, value))

        walk(written, "")
        return OmegaConf.create(resolved), resolved, paths  # type: ignore[return-value]

    def job(self, job: ComposedJob, hydra: Any) -> None:
        """`configure_log(hydra.job_logging, hydra.verbose)` for `job`, Hydra's current job.

        A log file that can't be opened stops the sweep, as in Hydra's own launchers, but with one
        line naming the file and what to change instead of `dictConfig`'s "Unable to configure handler".
        """
        try:
            self._job(job, hydra)
        except (OSError, ValueError) as e:
            cause = e if isinstance(e, OSError) else e.__cause__
            if not isinstance(cause, OSError) or cause.filename is None:
                raise
            raise ConfigurationError(
                f"Job #{hydra.job.num}'s log file {cause.filename} can't be opened ({cause.strerror}). Point "
                "the file handler of hydra.job_logging at a folder you can write to, or log to the console "
                "only with hydra/job_logging=stdout."
            ) from e

    def _job(self, job: ComposedJob, hydra: Any) -> None:
        from omegaconf import OmegaConf

        node, verbose = hydra.job_logging, hydra.verbose
        if job.derived is None or node is None:
            self._apply(node, None if node is None else OmegaConf.to_container(node, resolve=True), verbose)
            return
        known = self._jobs.get(id(job.node))
        if known is None or known[0] is not job.node:
            plain, conf, paths = self._plain(node)
            self._jobs[id(job.node)] = (job.node, plain, conf, paths, verbose, hydra.job.name)
            self._apply(plain, conf, verbose)
            return
        _, plain, conf, paths, verbose, name = known
        values = []
        for path, raw in paths:
            if raw == _DEFAULT_LOG_FILE:
                value = f"{job.output_dir}/{name}.log"
            else:
                value = OmegaConf.select(hydra.job_logging, path)
            values.append((path, value))
            conf = _with_leaf(conf, path.split("."), value)
        self.replay.apply(conf, verbose, lambda: configure_log(_with_leaves(plain, values), verbose))

    def _apply(self, plain: Any, conf: Any, verbose: Any) -> None:
        """Apply a logging config (`plain` for Hydra, `conf` the same as a dict) through the replay.

        `None` (Hydra's "leave the handlers alone") goes straight to `configure_log`, which then only sets `verbose`.
        """
        if plain is None:
            configure_log(plain, verbose)
            return
        self.replay.apply(conf, verbose, lambda: configure_log(plain, verbose))

    def launcher(self, config: DictConfig) -> None:
        """`configure_log(config.hydra.hydra_logging, config.hydra.verbose)` for the launch's own config."""
        from omegaconf import OmegaConf

        if self._hydra_logging is None or self._hydra_logging[0] is not config:
            node = config.hydra.hydra_logging
            conf = None if node is None else OmegaConf.to_container(node, resolve=True)
            plain = None if conf is None else OmegaConf.create(conf)
            self._hydra_logging = (config, conf, plain, config.hydra.verbose)
        _, conf, plain, verbose = self._hydra_logging
        self._apply(plain, conf, verbose)


def _with_leaves(plain: Any, values: list[tuple[str, Any]]) -> Any:
    """`plain` (a resolved logging config) with a job's own values at the dotted paths that had interpolations."""
    from omegaconf import OmegaConf

    from ._compose import set_leaf

    for path, value in values:
        *parents, leaf = path.split(".")
        parent = plain
        for part in parents:
            parent = parent._get_node(int(part) if part.isdigit() and OmegaConf.is_list(parent) else part)
        set_leaf(parent, int(leaf) if leaf.isdigit() and OmegaConf.is_list(parent) else leaf, value)
    return plain


def _with_leaf(tree: Any, parts: list[str], value: Any) -> Any:
    """`tree` with the leaf at `parts` set to `value`, copying only the containers on the way to it."""
    if not parts:
        return value
    head, *rest = parts
    if isinstance(tree, list):
        index = int(head)
        return [*tree[:index], _with_leaf(tree[index], rest, value), *tree[index + 1 :]]
    return {**tree, head: _with_leaf(tree[head], rest, value)}


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
    logs: JobLogging,
    may_chdir: bool = True,
) -> JobReturn:
    """Run `task_function` on `job` as Hydra's `run_job` does for a sweep job (`hydra.sweep.dir`/`subdir`).

    The working directory belongs to the whole process: jobs that run side by side in threads
    (`may_chdir=False`) never change it, whatever `hydra.job.chdir` says.
    """
    from hydra.core.hydra_config import HydraConfig

    callbacks = hydra_context.callbacks
    old_cwd = os.getcwd()
    with GLOBAL_STATE:
        previous = HydraConfig.instance().cfg
    chdir = False
    try:
        with GLOBAL_STATE:
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
            logs.job(job, hydra)
            if hydra.output_subdir is not None:
                snapshots.write(Path(job.output_dir) / str(hydra.output_subdir), job)
            job.fix_hydra_values()  # after config.yaml, which Hydra writes as composed
            env_set = hydra.job.env_set
        with env_override(env_set):
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
        with GLOBAL_STATE:
            HydraConfig.instance().cfg = previous
            if chdir:
                os.chdir(old_cwd)
