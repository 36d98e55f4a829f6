"""Importing SCRIPT the way `flyte run` does, and finding its tasks.

The script is imported as a module named after its file, with its folder on `sys.path`, so its
tasks keep the module name a remote run re-imports them by, and top-level `ConfigStore.store(...)`
calls have run before anything is composed or completed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any


class ScriptError(Exception):
    """SCRIPT could not be imported; the message says why and what to do."""


@contextlib.contextmanager
def _silenced(quiet: bool) -> Iterator[None]:
    """Swallow what the script prints while it is imported for shell completion (stdout carries the results)."""
    if not quiet:
        yield
        return
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def _same_file(module: ModuleType, path: Path) -> bool:
    origin = getattr(module, "__file__", None)
    return origin is not None and Path(origin).resolve() == path


def load_script(script: str | Path, *, quiet: bool = False) -> ModuleType:
    """Import `script` once per process (a second call returns the same module)."""
    path = Path(script).resolve()
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None:
        if _same_file(loaded, path):
            return loaded
        raise ScriptError(
            f"{script} would be imported as module '{name}', but another module of that name is already loaded "
            f"({getattr(loaded, '__file__', None) or 'built in'}). Rename the script."
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ScriptError(f"{script} is not an importable Python file.")
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    sys.modules[name] = module
    try:
        with _silenced(quiet):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        del sys.modules[name]
        raise ScriptError(
            f"Could not import {script}: {type(e).__name__}: {e}. flyte hydra run imports the script to find the "
            "task and the configs it registers; fix the error, or run `flyte -v hydra run ...` for the traceback."
        ) from e
    return module


def tasks_in(module: ModuleType) -> dict[str, Any]:
    """The Flyte tasks defined or imported at the top level of `module`, by attribute name."""
    import flyte

    return {name: value for name, value in vars(module).items() if isinstance(value, flyte.TaskTemplate)}
