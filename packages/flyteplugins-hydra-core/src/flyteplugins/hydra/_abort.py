"""Stopping a sweep's remote runs: those in flight, and those whose submission has not been answered yet.

A submission can create its run on the cluster long before the answer reaches us (a slow or cut
connection). Every sweep run has a name the client chose (`PlannedJob.run_name`), so a job still
waiting for its answer is looked up by that name and aborted, or its answer is awaited (the thread
that submitted it aborts what it gets back once the sweep is stopping). Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from typing import TYPE_CHECKING, Any

from ._phase import Phase
from ._results import is_remote_run, run_named

if TYPE_CHECKING:
    from ._outcome import JobOutcome
    from ._tracker import Tracker

ABORT_SECONDS = 10
# Our own tries on top of the SDK's retries: an abort is the one call a stopping sweep cannot skip.
_ABORT_TRIES = 3
_POLL_SECONDS = 0.5


def abort_run(run: Any, reason: str) -> BaseException | None:
    """Abort `run`; None once the cluster has taken it, else the last error."""
    failure: BaseException | None = None
    for _ in range(_ABORT_TRIES):
        try:
            run.abort(reason=reason)
            return None
        except Exception as e:
            failure = e
    return failure


def _named(name: str | None) -> Any:
    if not name:
        return None
    with contextlib.suppress(Exception):
        return run_named(name)
    return None


def _stop(tracker: Tracker, outcome: JobOutcome, why: str, deadline: float) -> bool:
    """Abort this job's run, finding it by name if its submission is unanswered; True once it is aborted."""
    while True:
        phase, handle = outcome.phase, outcome.handle  # `submitted` sets the handle before the phase
        if phase.active and is_remote_run(handle):
            return tracker.abort_answered(outcome, handle, why, abort_run(handle, why))
        if phase != Phase.SUBMITTING:
            return phase == Phase.ABORTED  # answered meanwhile: failed, succeeded, or aborted by its submitter
        run = _named(outcome.run_name)
        if run is not None:
            return tracker.abort_answered(outcome, run, why, abort_run(run, why))
        if time.monotonic() >= deadline:
            tracker.unanswered(outcome, why)
            return False
        tracker.wait_for_change(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def stop_runs(tracker: Tracker, why: str, seconds: float = ABORT_SECONDS) -> list[JobOutcome]:
    """Abort every remote run of the sweep still going or being submitted, in parallel; the jobs aborted.

    Returns within about `seconds`; a job not settled by then keeps a record saying what is unknown.
    """
    deadline = time.monotonic() + seconds
    going = [o for o in tracker.in_flight() if o.phase == Phase.SUBMITTING or is_remote_run(o.handle)]
    aborted: list[JobOutcome] = []

    def stop(outcome: JobOutcome) -> None:
        if _stop(tracker, outcome, why, deadline):
            aborted.append(outcome)

    threads = [  # in the caller's context, which may hold a context-scoped flyte init config (see DaemonWorkers)
        threading.Thread(target=contextvars.copy_context().run, args=(stop, o), daemon=True, name="flyte-hydra-abort")
        for o in going
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline + 2 * _POLL_SECONDS - time.monotonic()))
    return sorted(aborted, key=lambda o: o.num)


def abort_late_answer(tracker: Tracker, outcome: JobOutcome, run: Any, why: str) -> None:
    """A submission answered after the sweep began stopping: abort the run it created."""
    tracker.abort_answered(outcome, run, why, abort_run(run, why))
