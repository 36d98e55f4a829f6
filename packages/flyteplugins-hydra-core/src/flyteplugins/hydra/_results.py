"""Turning what a Flyte run hands back into the `RunResult` users and sweepers receive.

"The run failed" and "what the run did could not be read" are kept apart: the latter raises
`ResultUnavailableError`, which keeps the run's real phase, so nothing that succeeded is rerun.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ._errors import RemoteRunError, ResultUnavailableError
from ._flyte_compat import is_inline_run
from ._outcome import RunResult
from ._phase import Phase


def is_flyte_run(value: Any) -> bool:
    from flyte.remote import Run

    return isinstance(value, Run)


def is_remote_run(value: Any) -> bool:
    """A run on a cluster, still to be awaited (local runs come back finished)."""
    return is_flyte_run(value) and not is_inline_run(value)


def output_value(outputs: Sequence[Any]) -> Any:
    if len(outputs) == 0:
        return None
    if len(outputs) == 1:
        return outputs[0]
    return outputs if isinstance(outputs, tuple) else tuple(outputs)  # flyte's ActionOutputs, as 2.x returned


def finished_result(value: Any) -> Any:
    """What a job that has finished in-process yields: a `RunResult` for Flyte runs, else the value itself."""
    if is_flyte_run(value):
        return RunResult(output_value(value.outputs()), url=value.url, run=value)
    return value


def remote_error_detail(run: Any) -> str | None:
    """The run's own error text, as the SDK reports it for a failed run."""
    try:
        run.raise_for_status()
    except Exception as e:
        return str(e) or type(e).__name__
    return None


# After the watch stream fails beyond the SDK's own retries, the run is polled instead; this many
# polls in a row failing means the run cannot be followed from here any more.
_POLL_SECONDS = (0.5, 1.0, 2.0)
_POLLS_BEFORE_GIVING_UP = 4


def run_named(name: str) -> Any:
    """The run called `name` on the cluster, or None when there is none (other errors go on up)."""
    from connectrpc.code import Code
    from connectrpc.errors import ConnectError
    from flyte.remote import Run

    try:
        return Run.get(name)
    except ConnectError as e:
        if e.code == Code.NOT_FOUND:
            return None
        raise


def _phase(run: Any) -> Phase:
    return Phase.of(getattr(run.phase, "name", str(run.phase)))


def _follow(run: Any) -> Any:
    """The run once terminal: watched, or polled by name when watching fails."""
    try:
        run.wait(quiet=True)
        return run
    except Exception as lost:
        failure: Exception = lost
    failures = 0
    while failures < _POLLS_BEFORE_GIVING_UP:
        time.sleep(_POLL_SECONDS[min(failures, len(_POLL_SECONDS) - 1)])
        try:
            fresh = run_named(run.name)
        except Exception as e:
            failures, failure = failures + 1, e
            continue
        if fresh is None:
            break
        failures, run = 0, fresh
        if _phase(run).terminal:
            return run
    raise ResultUnavailableError(_phase(run).value, run.url, f"{type(failure).__name__}: {failure}")


def read_result(run: Any) -> RunResult:
    """The succeeded run's outputs; `ResultUnavailableError` (phase SUCCEEDED) when they cannot be fetched."""
    try:
        outputs = run.outputs()
    except Exception as e:
        raise ResultUnavailableError(Phase.SUCCEEDED.value, run.url, f"{type(e).__name__}: {e}") from e
    return RunResult(output_value(outputs), url=run.url, run=run)


def await_remote(run: Any) -> RunResult:
    """Wait until the run is terminal; its outputs if it succeeded, else `RemoteRunError`."""
    run = _follow(run)
    phase = _phase(run)
    if phase != Phase.SUCCEEDED:
        raise RemoteRunError(phase.value, run.url, remote_error_detail(run))
    return read_result(run)
