"""What every scheduling strategy shares: composing a job, and keeping a capped number in flight."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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


def startable(
    jobs: Sequence[PlannedJob], tracker: Tracker, make_room: Callable[[], None] | None = None
) -> Iterator[WorkItem]:
    """Each job that may start now, composed: jobs after a stop are cancelled, jobs that fail to compose skipped.

    `make_room` runs before each job is looked at (a capped strategy waits there for a slot).
    """
    for index, job in enumerate(jobs):
        if make_room is not None:
            make_room()
        outcome = tracker.outcomes[index]
        if tracker.stop.is_set():
            tracker.cancelled(outcome)
            continue
        prepared = prepare(job, tracker, index)
        if prepared is not NOT_PREPARED:
            yield WorkItem(job, outcome, prepared)


def rolling(
    jobs: Sequence[PlannedJob], tracker: Tracker, workers: DaemonWorkers, limit: int, start: Callable[[WorkItem], bool]
) -> None:
    """Keep at most `limit` jobs with the workers; as one finishes the next is composed and started.

    `start` runs on this thread and says whether the item now belongs to the workers.
    """
    in_flight = 0

    def make_room() -> None:
        nonlocal in_flight
        while in_flight >= limit:
            collect(workers, tracker)
            in_flight -= 1

    for item in startable(jobs, tracker, make_room):
        if start(item):
            workers.put(item)
            in_flight += 1
    for _ in range(in_flight):
        collect(workers, tracker)
