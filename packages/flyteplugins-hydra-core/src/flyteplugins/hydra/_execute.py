"""Run planned jobs: in-process one after another (local), or submit all then wait together (remote).

Every surface hands this module a list of jobs whose `start` either runs the job or submits it
and returns what `flyte.run` returned; nothing here knows about Hydra or the surface.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from . import _report
from ._errors import RemoteRunError
from ._mode import Mode, forced_local
from ._outcome import JobOutcome, RunResult


@dataclass(frozen=True)
class PlannedJob:
    """A job ready to go: its Hydra job number, its overrides, and how to start it."""

    num: int
    overrides: Sequence[str]
    start: Callable[[], Any]


def _is_flyte_run(value: Any) -> bool:
    from flyte.remote import Run

    return isinstance(value, Run)


def _is_inline_run(run: Any) -> bool:
    # Local executions come back wrapped in the SDK's private `_InlineRun`; it has already finished.
    return type(run).__qualname__.endswith("_InlineRun")


def _output_value(outputs: Sequence[Any]) -> Any:
    if len(outputs) == 0:
        return None
    if len(outputs) == 1:
        return outputs[0]
    return tuple(outputs)


def finished_result(value: Any) -> Any:
    """What a job that has finished in-process yields: a `RunResult` for Flyte runs, else the value itself."""
    if _is_flyte_run(value):
        return RunResult(_output_value(value.outputs()), url=value.url, run=value)
    return value


def _remote_error_detail(run: Any) -> str | None:
    try:
        error = run.action.error if hasattr(run, "action") else None
        message = getattr(error, "message", None)
        if message:
            return str(message)
        details = run.details()
        error = details.pb2.action.error if hasattr(details, "pb2") else None
        return str(error.message) if error is not None and error.message else None
    except Exception:
        return None


def _await_remote(run: Any) -> RunResult:
    run.wait(quiet=True)
    phase = run.phase
    phase_name = getattr(phase, "name", str(phase)).upper()
    if phase_name != "SUCCEEDED":
        raise RemoteRunError(phase_name, run.url, _remote_error_detail(run))
    return RunResult(_output_value(run.outputs()), url=run.url, run=run)


def _run_local(jobs: Sequence[PlannedJob]) -> list[JobOutcome]:
    outcomes = []
    for job in jobs:
        outcome = JobOutcome(job.num, job.overrides, phase="RUNNING")
        try:
            with forced_local():
                handle = job.start()
            outcome.result = finished_result(handle)
            outcome.url = getattr(outcome.result, "url", None)
            outcome.phase = "SUCCEEDED"
        except Exception as e:
            outcome.phase, outcome.error = "FAILED", e
        outcomes.append(outcome)
    return outcomes


def _submit_remote(jobs: Sequence[PlannedJob]) -> list[JobOutcome]:
    outcomes = []
    for job in jobs:
        outcome = JobOutcome(job.num, job.overrides)
        try:
            outcome.handle = job.start()
        except Exception as e:
            outcome.phase, outcome.error = "FAILED", e
        else:
            if _is_flyte_run(outcome.handle) and not _is_inline_run(outcome.handle):
                outcome.url = outcome.handle.url
                outcome.phase = "SUBMITTED"
                _report.run_submitted(outcome.url, job.num if len(jobs) > 1 else None)
            else:
                outcome.result = finished_result(outcome.handle)
                outcome.phase = "SUCCEEDED"
        outcomes.append(outcome)
    return outcomes


def _wait_workers(count: int, wait_max_workers: int | None) -> int:
    if wait_max_workers is None:
        return max(1, count)
    return max(1, min(count, wait_max_workers))


def _wait_remote(outcomes: Sequence[JobOutcome], wait_max_workers: int | None) -> None:
    pending = [o for o in outcomes if o.phase == "SUBMITTED"]
    if not pending:
        return
    workers = _wait_workers(len(pending), wait_max_workers)
    _report.waiting(len(pending), workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flyte-hydra-wait") as pool:
        futures = [(o, pool.submit(_await_remote, o.handle)) for o in pending]
        for outcome, future in futures:
            try:
                outcome.result = future.result()
                outcome.phase = "SUCCEEDED"
            except RemoteRunError as e:
                outcome.phase, outcome.error = e.phase, e
            except Exception as e:
                outcome.phase, outcome.error = "FAILED", e


def execute(
    jobs: Sequence[PlannedJob],
    *,
    mode: Mode,
    wait: bool = True,
    wait_max_workers: int | None = 32,
    after_submit: Callable[[Sequence[JobOutcome]], None] | None = None,
) -> list[JobOutcome]:
    """Run or submit every job; returns one outcome per job, in job order, failures included.

    `after_submit` sees the outcomes once every remote job is submitted and before any waiting
    (the CLI's `--follow` streams logs there); it is not called in local mode.
    """
    if mode == "local":
        outcomes = _run_local(jobs)
        _report.summary(outcomes)
        return outcomes
    outcomes = _submit_remote(jobs)
    if after_submit is not None:
        after_submit(outcomes)
    if wait:
        _wait_remote(outcomes, wait_max_workers)
    else:
        for o in outcomes:
            if o.phase == "SUBMITTED":
                o.result = o.handle
        _report.not_waiting(sum(o.phase == "SUBMITTED" for o in outcomes))
    _report.summary(outcomes)
    return outcomes
