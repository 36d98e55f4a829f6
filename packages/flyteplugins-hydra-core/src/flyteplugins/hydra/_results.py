"""Turning what a Flyte run hands back into the `RunResult` users and sweepers receive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._errors import RemoteRunError
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


def await_remote(run: Any) -> RunResult:
    """Wait until the run is terminal; its outputs if it succeeded, else `RemoteRunError`."""
    run.wait(quiet=True)
    phase = Phase.of(getattr(run.phase, "name", str(run.phase)))
    if phase != Phase.SUCCEEDED:
        raise RemoteRunError(phase.value, run.url, remote_error_detail(run))
    return RunResult(output_value(run.outputs()), url=run.url, run=run)
