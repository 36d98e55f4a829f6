# ruff: noqa: E501  (the table of upstream internals below reads best one row a line)
"""Every use of a private flyte SDK name, in one place. Checked against flyte 2.12.1.

| what we use | why | checked |
|---|---|---|
| `flyte._initialize._get_init_config` | is flyte initialised, and with a client? (public `get_init_config` raises when not) | 2.12.1 |
| `flyte._initialize.init_config_context` | a context-scoped, client-less init config keeps `mode=local` local | 2.12.1 |
| `flyte._initialize.get_init_config` | the init config's `root_dir` for the sweep's bundle file list | 2.12.1 |
| `flyte.config._reader.resolve_config_path` | find the config file now: flyte caches an older lookup | 2.12.1 |
| `flyte._internal.controllers._ControllerState`, `TaskRunner._close`, `_TaskRunner__loop` | stop the event-loop thread flyte leaves per local run of a sync task | 2.12.1 |
| `flyte._code_bundle._ignore`, `._packaging.list_files_to_bundle`; runner `_copy_files`, `_bundle_relative_paths`, `_bundle_from_dir` | list a sweep's bundle files once, not per job, and keep the list for the next sweep while no user module is imported and no listed file changes (flyte skips a not-yet-imported `LazyModule`, so do we) | 2.12.1 |
| `/tmp/flyte/metadata/<run name>` | a local job's URL before it has finished (and if it fails) | 2.12.1 |
| `flyte._internal.resolvers._task_module.extract_task_module` | the module and name flyte loads a task by, so the cluster driver imports the entry task as its children will | 2.12.1 |
| `flyte._internal.resolvers.default.DefaultTaskResolver` (subclassed in `_driver.DriverResolver`) | the cluster driver is loaded by its package's module name, not its file path under root_dir | 2.12.1 |
| runner `_build_task_spec_from_template`, `_build_env_dict` | build a sweep's task spec (code bundle, images, serialization) and run environment once, not per job | 2.12.1 |
| the `flyte` logger's "Task failed with error" record from `taskrunner.py` | a failing local job's error is printed once, not with flyte's traceback per job | 2.12.1 |
| the class name `_InlineRun` | a local run comes back as this finished stand-in for `flyte.remote.Run` | 2.12.1 |

`tests/test_upstream_compat.py` fails with a message naming the upstream change when one of these moves.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_contain_lock = threading.Lock()


def _exit_message(exit: BaseException) -> str:
    if isinstance(exit, SystemExit):
        return (
            f"the task called sys.exit({exit.code!r}) (SystemExit) instead of returning or raising an exception; "
            "raise an exception to fail a task"
        )
    if isinstance(exit, KeyboardInterrupt):
        return "the task raised KeyboardInterrupt inside itself; it was not a Ctrl-C of the sweep"
    return f"the task raised {type(exit).__name__}({exit}), a BaseException that is not an Exception"


def contain_task_exits() -> None:
    """Make a local task that leaves by `SystemExit`, `KeyboardInterrupt` or any other non-`Exception` fail.

    flyte 2.12's `taskrunner.run_task` turns only `Exception`s into the task's error. A `SystemExit`
    or `KeyboardInterrupt` raised in a task escapes into the asyncio task that runs it; asyncio then
    re-raises it out of `run_forever`, which kills the event-loop thread before the future
    `flyte.run` waits on is resolved, and the whole sweep (and any sibling sharing that loop) hangs
    forever. Wrapping `run_task` hands such an exit back as the task's `CustomError`, exactly as
    flyte does for an exception. Real Ctrl-C never reaches a task: signals go to the main thread,
    and local tasks run on flyte's loop and executor threads (a `KeyboardInterrupt` on the main
    thread is passed on, to be safe). Cancellation (`CancelledError`, `GeneratorExit`) is left alone.
    Idempotent; checked against flyte 2.12.1. Should flyte move `run_task`, local runs go on without
    the guard (tests/test_task_exits.py says so loudly).
    """
    try:
        from flyte._internal.runtime import taskrunner
        from flyte.errors import CustomError
    except ImportError:
        return

    with _contain_lock:
        original = getattr(taskrunner, "run_task", None)
        if original is None or getattr(original, "_flyte_hydra_contained", False):
            return

        async def run_task(*args: Any, **kwargs: Any) -> Any:
            try:
                return await original(*args, **kwargs)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt) and threading.current_thread() is threading.main_thread():
                    raise  # where signals arrive this may be a real Ctrl-C, which aborts the sweep
                error = CustomError(type(e).__name__, _exit_message(e))
                error.__cause__ = e
                return {}, error

        run_task._flyte_hydra_contained = True  # type: ignore[attr-defined]
        taskrunner.run_task = run_task


TRACEBACKS_LOGGER = "flyteplugins.hydra.tracebacks"


class _TaskFailureFilter(logging.Filter):
    """Drops flyte's traceback of a failed local task; the executor reports the error in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if logging.getLogger(TRACEBACKS_LOGGER).isEnabledFor(logging.DEBUG):
            return True
        return not (
            record.levelno >= logging.ERROR
            and record.pathname.endswith("taskrunner.py")
            and str(record.msg).startswith("Task failed with error")
        )


@contextlib.contextmanager
def one_line_task_failures() -> Iterator[None]:
    """While local jobs run, flyte logs no traceback per failed task (each job's error is reported once).

    flyte 2.12's `run_task` logs every task failure with `logger.exception` on the `flyte` logger:
    a dozen lines per failed job, before the executor's own line for it. Set the
    `flyteplugins.hydra.tracebacks` logger to DEBUG (the CLI's `-v` does) to see them again.
    """
    flyte_logger = logging.getLogger("flyte")
    task_filter = _TaskFailureFilter()
    flyte_logger.addFilter(task_filter)
    try:
        yield
    finally:
        flyte_logger.removeFilter(task_filter)


def run_local_on_own_loop(runner: Any, task: Any, /, **inputs: Any) -> Any:
    """`runner.run(task, **inputs)` for a local run, on an event loop of the calling thread's own.

    flyte 2.12's `run` is a `syncify` wrapper that runs every coroutine on one process-wide
    background loop. An `async` task that blocks (`time.sleep`, a CPU-bound step, a hang) then
    blocks every other local run, so `max_parallel` gave such tasks no concurrency at all. The
    wrapper keeps the undecorated coroutine function as `.fn`; running it with `asyncio.run` gives
    each worker thread its own loop, child tasks included. The main thread (one job at a time, where
    Ctrl-C arrives) keeps flyte's own behaviour, as does a thread already running a loop, or a flyte
    without `.fn`. Checked against flyte 2.12.1.
    """
    coroutine_function = getattr(runner.run, "fn", None)
    if coroutine_function is None or threading.current_thread() is threading.main_thread():
        return runner.run(task, **inputs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_function(task, **inputs))
    return runner.run(task, **inputs)


def task_module(task: Any) -> tuple[str, str]:
    """(module, attribute) flyte loads `task` by on a cluster, relative to the init config's root_dir."""
    from flyte._initialize import get_init_config
    from flyte._internal.resolvers._task_module import extract_task_module

    name, module = extract_task_module(task, Path(get_init_config().root_dir))
    return module, name


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


def local_run_url(run_name: str | None) -> str | None:
    """Where flyte keeps a named local run's metadata (its URL once it finishes), known before it starts.

    flyte 2.12 puts it in `/tmp/flyte/metadata/<run name>` unless the run is given a metadata path.
    """
    return None if run_name is None else str(Path("/") / "tmp" / "flyte" / "metadata" / run_name)


def default_task_resolver() -> type:
    """flyte's default task resolver class, for the cluster driver's own resolver to subclass."""
    from flyte._internal.resolvers.default import DefaultTaskResolver

    return DefaultTaskResolver


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


@dataclass(frozen=True)
class _Listing:
    """The bundle files flyte listed for a root folder, and what they were listed from."""

    files: tuple[str, ...]
    modules: frozenset[str]
    stamps: tuple[int, ...]


_listings: dict[tuple[Path, str], _Listing] = {}
_listings_lock = threading.Lock()


def _stamps(root: Path, files: tuple[str, ...]) -> tuple[int, ...]:
    stamps = []
    for name in files:
        try:
            stamps.append((root / name).stat().st_mtime_ns)
        except OSError:
            stamps.append(-1)
    return tuple(stamps)


def _installed_folders() -> tuple[Path, ...]:
    """Where installed packages and the standard library live: flyte never bundles a file from there."""
    import site

    folders = [sys.prefix, sys.base_prefix, site.getusersitepackages(), *site.getsitepackages()]
    return tuple(Path(f).resolve() for f in folders)


def _may_be_bundled(names: frozenset[str], root: Path) -> bool:
    """Whether any of these newly imported modules has a file under `root` outside the installed packages."""
    installed = _installed_folders()
    for name in names:
        module = sys.modules.get(name)
        if module is None or "LazyModule" in type(module).__name__:
            continue  # flyte skips a lazy module that is not imported yet, and never reads one's file
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        with contextlib.suppress(OSError):
            path = Path(file).resolve()
            if path.is_relative_to(root) and not any(path.is_relative_to(f) for f in installed):
                return True
    return False


def _listed_files(root: Path, copy_style: str) -> tuple[str, ...]:
    """flyte's list of the files to bundle under `root`, relative to it; listed again only when it may differ.

    flyte 2.12 derives the `loaded_modules` list from `sys.modules` (resolving every module's path
    against each installed-packages folder: 1-2 s of CPU with a few thousand modules), plus what
    ruff's import graph reaches from those files. That list changes only when a module with a file
    under the root is imported, or a listed file is edited (a new import in it), so a process that
    launches several sweeps lists once while neither happens. The `all` style lists every file
    under the root, which any new file changes: it is listed for every sweep.
    """
    from flyte._code_bundle._ignore import FlyteIgnore, GitIgnore, StandardIgnore
    from flyte._code_bundle._packaging import list_files_to_bundle

    key = (root, copy_style)
    modules = frozenset(sys.modules)
    with _listings_lock:
        known = _listings.get(key)
        if (
            known is not None
            and copy_style == "loaded_modules"
            and known.stamps == _stamps(root, known.files)
            and not _may_be_bundled(modules - known.modules, root)
        ):
            _listings[key] = _Listing(known.files, modules, known.stamps)
            return known.files
        files, _ = list_files_to_bundle(root, True, StandardIgnore, GitIgnore, FlyteIgnore, copy_style=copy_style)
        listed = tuple(str(Path(f).resolve().relative_to(root)) for f in files)
        _listings[key] = _Listing(listed, modules, _stamps(root, listed))
        return listed


class SweepCodeBundle:
    """What every remote job of a sweep shares, made once instead of once per submitted job.

    For each remote run flyte 2.12 walks every module in `sys.modules` to decide what to bundle
    (1-2 s of CPU with a few thousand modules; `_listed_files` also keeps the list between sweeps), tars and hashes the files to find the
    bundle already uploaded (printing its "Bundling code…" lines again), resolves images, serializes
    the task, and resolves `sys.path` against the root folder for the run's environment. Only a
    job's inputs and run name (and its labels) differ, so:

    - the bundle's file list is made once and each job's runner bundles exactly those files
      (flyte's `custom` copy style, which `with_runcontext` does not expose yet);
    - the task spec (with its code bundle and version) is built once per `spec_key`, the lowered
      `task_env` of the job (jobs with the same one run the same task), and each job gets a copy;
    - the run's environment variables are computed once.
    """

    _STYLES = ("loaded_modules", "all")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: tuple[str, ...] | None = None
        self._root: Path | None = None
        # Files (relative to root_dir) bundled besides the code: a sampling sweep's configs for the cluster driver.
        self.extra_files: tuple[str, ...] = ()
        self._specs: dict[str, tuple[Any, Any, str]] = {}
        self._env: dict[bool, dict[str, str]] = {}

    def _list(self, copy_style: str) -> tuple[tuple[str, ...], Path]:
        from flyte._initialize import get_init_config

        root = Path(get_init_config().root_dir).resolve()
        listed = _listed_files(root, copy_style)
        return listed + tuple(f for f in self.extra_files if f not in listed), root

    def _bundle_files(self, runner: Any) -> None:
        copy_style = getattr(runner, "_copy_files", None)
        if copy_style not in self._STYLES or not hasattr(runner, "_bundle_relative_paths"):
            return
        with self._lock:
            if self._files is None:
                self._files, self._root = self._list(copy_style)
        if not self._files:
            return  # nothing listed (flyte's file analysis failed): let flyte bundle as it would itself
        runner._copy_files = "custom"
        runner._bundle_relative_paths = self._files
        runner._bundle_from_dir = self._root

    def _share_spec(self, runner: Any, spec_key: str) -> None:
        build = getattr(runner, "_build_task_spec_from_template", None)
        if build is None:
            return
        specs = self._specs

        async def shared(task: Any) -> tuple[Any, Any, str]:
            built = specs.get(spec_key)
            if built is None:
                built = specs.setdefault(spec_key, await build(task))
            task_spec, code_bundle, version = built
            copy = type(task_spec)()
            copy.CopyFrom(task_spec)  # flyte fills in the spec's id per run: never share one message
            return copy, code_bundle, version

        runner._build_task_spec_from_template = shared

    def _share_env(self, runner: Any) -> None:
        build = getattr(runner, "_build_env_dict", None)
        if build is None:
            return
        env = self._env

        def shared(*, sync_sys_paths: bool = True) -> dict[str, str]:
            if sync_sys_paths not in env:
                env[sync_sys_paths] = build(sync_sys_paths=sync_sys_paths)
            return dict(env[sync_sys_paths])

        runner._build_env_dict = shared

    def apply(self, runner: Any, spec_key: str | None = None) -> Any:
        """Make a `with_runcontext` runner reuse the sweep's bundle files, task spec and environment.

        `spec_key` names the task the job runs (its lowered `task_env`); None shares only the bundle
        file list. Other copy styles keep flyte's own bundling; a flyte without these runner members
        submits each job in full (slower, never wrong).
        """
        self._bundle_files(runner)
        if spec_key is not None:
            self._share_spec(runner, spec_key)
            self._share_env(runner)
        return runner
