# ruff: noqa: E501  (the table of upstream internals below reads best one row a line)
"""Every use of a private flyte SDK name, in one place. Checked against flyte 2.12.1.

| what we use | why | checked |
|---|---|---|
| `flyte._initialize._get_init_config` | is flyte initialised, and with a client? (public `get_init_config` raises when not) | 2.12.1 |
| `flyte._initialize.init_config_context` | a context-scoped, client-less init config keeps `mode=local` local | 2.12.1 |
| `flyte._initialize.get_init_config` | the init config's `root_dir` for the sweep's bundle file list | 2.12.1 |
| `flyte.config._reader.resolve_config_path` | find the config file now: flyte caches an older lookup | 2.12.1 |
| `flyte._internal.controllers._ControllerState`, `TaskRunner._close`, `_TaskRunner__loop` | stop the event-loop thread flyte leaves per local run of a sync task | 2.12.1 |
| `flyte._code_bundle._ignore`, `._packaging.list_files_to_bundle`; runner `_copy_files`, `_bundle_relative_paths`, `_bundle_from_dir` | list a sweep's bundle files once, not per job | 2.12.1 |
| the class name `_InlineRun` | a local run comes back as this finished stand-in for `flyte.remote.Run` | 2.12.1 |

`tests/test_upstream_compat.py` fails with a message naming the upstream change when one of these moves.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from pathlib import Path
from typing import Any


def get_init_config_or_none() -> Any:
    """flyte's current init config, or None before `flyte.init*()`."""
    from flyte._initialize import _get_init_config

    return _get_init_config()


def init_config_context(config: Any) -> Any:
    """A context in which `config` is flyte's init config, whatever was initialised globally."""
    from flyte._initialize import init_config_context as context

    return context(config)


def resolve_config_path() -> Any:
    """The flyte config file that applies now (flyte's own lookup order, uncached)."""
    from flyte.config._reader import resolve_config_path as resolve

    return resolve()


def is_inline_run(run: Any) -> bool:
    """Local executions come back wrapped in the SDK's private `_InlineRun`; it has already finished."""
    return type(run).__qualname__.endswith("_InlineRun")


def release_local_runners() -> None:
    """Stop the event-loop threads flyte left behind for the local run that just finished.

    flyte 2.12 creates a new `LocalController` for every local run, and for a synchronous task it
    starts a thread running a fresh event loop that is only stopped at interpreter exit. Over a
    1000-job local sweep that is 1000 idle threads and loops. Call this only when no other local
    run is in flight: it closes the runners of the most recently created controller.
    """
    with contextlib.suppress(ImportError, AttributeError):
        from flyte._internal.controllers import _ControllerState

        runners = getattr(_ControllerState.controller, "_runner_map", None)
        if not runners:
            return
        for runner in list(runners.values()):
            atexit.unregister(runner._close)
            loop = getattr(runner, "_TaskRunner__loop", None)
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(loop.stop)  # the runner's own _close is not thread-safe
        runners.clear()


class SweepCodeBundle:
    """Finds the files of a sweep's code bundle once, instead of once per submitted job.

    For each remote run flyte 2.12 walks every module in `sys.modules` to decide what to bundle
    (about half a second of CPU with a few thousand modules), then finds the bundle already
    uploaded. Every job of a sweep bundles the same files, so the list is made once and each
    job's runner is told to bundle exactly those files (flyte's `custom` copy style, which
    `with_runcontext` does not expose yet).
    """

    _STYLES = ("loaded_modules", "all")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: tuple[str, ...] | None = None
        self._root: Path | None = None

    def _list(self, copy_style: str) -> tuple[tuple[str, ...], Path]:
        from flyte._code_bundle._ignore import FlyteIgnore, GitIgnore, StandardIgnore
        from flyte._code_bundle._packaging import list_files_to_bundle
        from flyte._initialize import get_init_config

        root = Path(get_init_config().root_dir).resolve()
        files, _ = list_files_to_bundle(root, True, StandardIgnore, GitIgnore, FlyteIgnore, copy_style=copy_style)
        return tuple(str(Path(f).resolve().relative_to(root)) for f in files), root

    def apply(self, runner: Any) -> Any:
        """Point a `with_runcontext` runner at the sweep's file list; other copy styles are left alone."""
        copy_style = getattr(runner, "_copy_files", None)
        if copy_style not in self._STYLES or not hasattr(runner, "_bundle_relative_paths"):
            return runner
        with self._lock:
            if self._files is None:
                self._files, self._root = self._list(copy_style)
        runner._copy_files = "custom"
        runner._bundle_relative_paths = self._files
        runner._bundle_from_dir = self._root
        return runner
