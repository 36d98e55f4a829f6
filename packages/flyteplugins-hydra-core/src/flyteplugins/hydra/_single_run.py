"""Launcher semantics for a plain (non `--multirun`) run of a `@hydra.main` app.

Hydra never calls a launcher for a single run: it calls `main` directly. Selecting
`hydra/launcher=flyte` also installs this callback, so the `hydra.launcher` options still apply:
`mode` decides where the app's own `flyte.run` goes, `dry_run` shows the job instead of running
`main`, `task_env_key` is the key `apply_task_env` reads, and a remote run is announced, awaited
and resolved like a sweep job.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback

if TYPE_CHECKING:
    from hydra.core.utils import JobReturn
    from omegaconf import DictConfig

    from ._options import LaunchOptions


def launcher_options(config: DictConfig) -> LaunchOptions:
    """The `hydra.launcher` node as launch options (errors name `hydra.launcher.*`)."""
    from omegaconf import OmegaConf

    from ._options import LaunchOptions

    values = OmegaConf.to_container(config.hydra.launcher, resolve=True)
    assert isinstance(values, dict)
    values.pop("_target_", None)
    return LaunchOptions.parse("launcher", values)  # type: ignore[arg-type]


class SingleRunCallback(Callback):
    def __init__(self) -> None:
        self._scope = contextlib.ExitStack()
        self._options: LaunchOptions | None = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from ._errors import ConfigurationError
        from ._hydra_exit import stop_run
        from ._mode import ensure_remote_ready, forced_local
        from ._task_env import task_env_key_scope

        try:
            options = self._options = launcher_options(config)
            if options.dry_run:
                self._show_dry_run(config, options)
                raise SystemExit(0)
            if options.mode == "remote":
                ensure_remote_ready()
        except ConfigurationError as e:
            # Hydra turns exceptions from callbacks into warnings and runs the job anyway; this must stop it.
            stop_run(e)
        self._scope.enter_context(task_env_key_scope(options.task_env_key))
        if options.mode == "local":
            self._scope.enter_context(forced_local())

    @staticmethod
    def _show_dry_run(config: DictConfig, options: LaunchOptions) -> None:
        from omegaconf import OmegaConf

        from ._outcome import JobOutcome
        from ._phase import Phase
        from ._report import dry_run

        section = config.get(options.task_env_key)
        details = {options.task_env_key: OmegaConf.to_container(section, resolve=True) if section else "none"}
        outcome = JobOutcome(0, list(config.hydra.overrides.task), phase=Phase.PLANNED)
        dry_run([(outcome, details)], options.mode)

    def on_run_end(self, config: DictConfig, job_return: JobReturn | None = None, **kwargs: Any) -> None:
        from ._execute import PlannedJob, execute
        from ._hydra_compat import job_return_value

        self._scope.close()
        if job_return is None or job_return.status != JobStatus.COMPLETED or self._options is None:
            return
        launched = job_return_value(job_return)
        job = PlannedJob(0, list(job_return.overrides or []), prepare=lambda: None, start=lambda _: launched)
        (outcome,) = execute([job], self._options)
        if outcome.ok:
            job_return.return_value = outcome.result
        else:
            job_return.status = JobStatus.FAILED
            job_return.return_value = outcome.error
