"""Launcher semantics for a plain (non `--multirun`) run of a `@hydra.main` app.

Hydra never calls a launcher for a single run: it calls `main` directly. Selecting
`hydra/launcher=flyte` also installs this callback, so `hydra.launcher.mode` still decides where
the app's own `flyte.run` goes, and a remote run is announced, awaited and resolved like a sweep job.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback

if TYPE_CHECKING:
    from hydra.core.utils import JobReturn
    from omegaconf import DictConfig

    from ._settings import LaunchSettings


class SingleRunCallback(Callback):
    def __init__(self) -> None:
        self._scope = contextlib.ExitStack()
        self._settings: LaunchSettings | None = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from ._errors import ConfigurationError
        from ._hydra_exit import stop_run
        from ._mode import ensure_remote_ready, forced_local
        from ._settings import LaunchSettings

        launcher = config.hydra.launcher
        try:
            # Every setting is checked here: an error raised later, in on_run_end, is only a warning.
            self._settings = LaunchSettings.checked(
                surface="launcher", mode=launcher.mode, wait=launcher.wait, wait_max_workers=launcher.wait_max_workers
            )
            if self._settings.mode == "remote":
                ensure_remote_ready()
        except ConfigurationError as e:
            stop_run(e)
        if self._settings.mode == "local":
            self._scope.enter_context(forced_local())

    def on_run_end(self, config: DictConfig, job_return: JobReturn | None = None, **kwargs: Any) -> None:
        from ._execute import PlannedJob, execute

        self._scope.close()
        if job_return is None or job_return.status != JobStatus.COMPLETED or self._settings is None:
            return
        launched = job_return._return_value
        job = PlannedJob(0, list(job_return.overrides or []), prepare=lambda: None, start=lambda _: launched)
        (outcome,) = execute([job], self._settings)
        if outcome.ok:
            job_return.return_value = outcome.result
        else:
            job_return.status = JobStatus.FAILED
            job_return.return_value = outcome.error
