"""What every scheduling strategy shares: composing a job, and keeping a capped number in flight."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._workers import DaemonWorkers, WorkItem

if TYPE_CHECKING:
    from ._execute import PlannedJob
    from ._tracker import Tracker

NOT_PREPARED = object()


def prepare(job: PlannedJob, tracker: Tracker, index: int) -> Any:
    """The job's composed input, or NOT_PREPARED once its failure to compose is recorded."""
    try:
        return job.prepare()
    except Exception as e:
        tracker.failed(tracker.outcomes[index], e)
        return NOT_PREPARED


def collect(workers: DaemonWorkers, tracker: Tracker) -> None:
    """Record the next job a worker finished; Ctrl-C and other exits raised in a worker go on up."""
    done = workers.get()
    if done.error is None:
        tracker.succeeded(done.item.outcome, done.value)
    elif isinstance(done.error, Exception):
        tracker.failed(done.item.outcome, done.error)
    else:
        raise done.error


def rolling(
    jobs: Sequence[PlannedJob], tracker: Tracker, workers: DaemonWorkers, limit: int, start: Callable[[WorkItem], bool]
) -> None:
    """Keep at most `limit` jobs with the workers; as one finishes the next is composed and started.

    `start` runs on this thread and says whether the item now belongs to the workers.
    """
    in_flight = 0
    for index, job in enumerate(jobs):
        outcome = tracker.outcomes[index]
        while in_flight >= limit:
            collect(workers, tracker)
            in_flight -= 1
        if tracker.stop.is_set():
            tracker.cancelled(outcome)
            continue
        prepared = prepare(job, tracker, index)
        if prepared is NOT_PREPARED:
            continue
        item = WorkItem(job, outcome, prepared)
        if start(item):
            workers.put(item)
            in_flight += 1
    for _ in range(in_flight):
        collect(workers, tracker)
