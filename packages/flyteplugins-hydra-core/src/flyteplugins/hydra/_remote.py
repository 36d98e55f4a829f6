"""Remote scheduling: submit runs to a Flyte cluster, then wait for them; or keep a capped number in flight."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._abort import abort_late_answer, stop_runs
from ._report import fail_fast_aborting, fail_fast_not_following, fail_fast_nothing_left, not_waiting, waiting
from ._results import await_remote, finished_result, is_remote_run, run_named
from ._schedule import NOT_PREPARED, collect, prepare, rolling
from ._workers import DaemonWorkers, Done, WorkItem, short_gil_turns

if TYPE_CHECKING:
    from ._execute import PlannedJob
    from ._options import LaunchOptions
    from ._outcome import JobOutcome

from ._tracker import INTERRUPTED, Tracker

_SUBMIT_WORKERS = 32

AfterSubmit = Callable[[Sequence["JobOutcome"]], None]


def _found_anyway(item: WorkItem) -> Any:
    """After a failed submission: the run it may have created all the same (its answer was lost), or None.

    A retried `CreateRun` whose first try was created but not answered fails with `already_exists`,
    yet the job's run is going; the client-chosen name finds it.
    """
    name = item.job.run_name
    if not name:
        return None
    with contextlib.suppress(Exception):
        return run_named(name)
    return None


def _stopping_why(tracker: Tracker) -> str:
    return INTERRUPTED if tracker.failure is None else f"aborted by fail_fast: job #{tracker.failure.num} failed"


def _accept(tracker: Tracker, item: WorkItem, handle: Any, error: BaseException | None) -> bool:
    """Record one submission's answer; True when a remote run is now in flight."""
    if error is not None:
        if not isinstance(error, Exception):
            raise error
        handle = _found_anyway(item)
        if handle is None:
            tracker.failed(item.outcome, error)
            return False
    if not is_remote_run(handle):
        # The app's own code ran in-process (a plain value, or a local run): it has finished already.
        tracker.succeeded(item.outcome, finished_result(handle))
        return False
    if tracker.stop.is_set():
        abort_late_answer(tracker, item.outcome, handle, _stopping_why(tracker))
        return False
    return tracker.submitted(item.outcome, handle)


def _submit(tracker: Tracker, item: WorkItem) -> bool:
    """Submit one job (on any thread) unless the sweep is stopping; True when its run is in flight."""
    if tracker.stop.is_set():
        tracker.cancelled(item.outcome)
        return False
    tracker.submitting(item.outcome)
    try:
        handle, error = item.job.start(item.prepared), None
    except Exception as e:
        handle, error = None, e
    return _accept(tracker, item, handle, error)


def _waiters(count: int) -> DaemonWorkers:
    """Threads that wait on work items until each remote run is terminal."""
    return DaemonWorkers(count, lambda item: await_remote(item.outcome.handle), "flyte-hydra-wait")


def _fail_fast(tracker: Tracker) -> None:
    """After fail_fast's first failure: abort every run still going (once); the waiters record how each ends."""
    if tracker.stop.is_set() and tracker.failure is not None and not tracker.fail_fast_done:
        tracker.fail_fast_done = True
        going = [o for o in tracker.in_flight() if o.phase.active]
        if going:
            fail_fast_aborting(tracker.failure, len(going))
            stop_runs(tracker, _stopping_why(tracker))
        else:
            fail_fast_nothing_left(tracker.failure)


def _submit_all(jobs: Sequence[PlannedJob], tracker: Tracker, concurrent: bool) -> list[WorkItem]:
    """Every job submitted before any waiting; in job order. Submissions overlap when `concurrent`.

    Concurrent submissions start while the next jobs are still being composed (on this thread).
    """
    if not concurrent or len(jobs) < 2:
        items = []
        for index, job in enumerate(jobs):
            prepared = prepare(job, tracker, index)
            if prepared is not NOT_PREPARED:
                items.append(WorkItem(job, tracker.outcomes[index], prepared))
        return [item for item in items if _submit(tracker, item)]
    return _submit_overlapped(jobs, tracker)


class _Overlapped:
    """Submissions on the workers while this thread composes the next jobs; the first one alone at first.

    The first submission builds and uploads the code bundle and the task spec, which the rest of
    the sweep reuses (flyte caches the bundle, `SweepCodeBundle` the spec): the jobs composed
    meanwhile are held until it is answered, then go to the workers as they come.
    """

    def __init__(self, tracker: Tracker, workers: DaemonWorkers) -> None:
        self.tracker = tracker
        self.workers = workers
        self.in_flight: list[WorkItem] = []
        self.pending = 0
        self._held: list[WorkItem] | None = None  # a list while the first submission is unanswered
        self._started = False

    def add(self, item: WorkItem) -> None:
        if self._held is not None:
            self._held.append(item)
            return
        if not self._started:
            self._started, self._held = True, []  # the first: the next ones wait for its answer
        self._send(item)

    def _send(self, item: WorkItem) -> None:
        self.workers.put(item)
        self.pending += 1

    def _settle(self, done: Done) -> None:
        self.pending -= 1
        if done.error is not None:
            raise done.error
        if done.value:
            self.in_flight.append(done.item)
        held, self._held = self._held or [], None
        for item in held:
            self._send(item)

    def answered(self) -> None:
        """Record the submissions answered so far, without waiting."""
        while (done := self.workers.poll()) is not None:
            self._settle(done)

    def finish(self) -> list[WorkItem]:
        """Wait for every submission; the runs now in flight, in job order."""
        while self.pending:
            self._settle(self.workers.get())
        order = {id(outcome): i for i, outcome in enumerate(self.tracker.outcomes)}
        return sorted(self.in_flight, key=lambda item: order[id(item.outcome)])


def _submit_overlapped(jobs: Sequence[PlannedJob], tracker: Tracker) -> list[WorkItem]:
    with (
        short_gil_turns(),
        DaemonWorkers(
            min(_SUBMIT_WORKERS, len(jobs)), lambda item: _submit(tracker, item), "flyte-hydra-submit"
        ) as workers,
    ):
        submissions = _Overlapped(tracker, workers)
        for index, job in enumerate(jobs):
            prepared = prepare(job, tracker, index)
            if prepared is not NOT_PREPARED:
                submissions.add(WorkItem(job, tracker.outcomes[index], prepared))
            submissions.answered()
        return submissions.finish()


def _wait_all(items: Sequence[WorkItem], tracker: Tracker, threads: int | None) -> None:
    if not items:
        return
    count = min(len(items), threads or len(items))
    waiting(len(items), count)
    with _waiters(count) as workers:
        for item in items:
            workers.put(item)
        _fail_fast(tracker)
        for _ in items:
            collect(workers, tracker)
            _fail_fast(tracker)


def _capped(jobs: Sequence[PlannedJob], tracker: Tracker, options: LaunchOptions, limit: int) -> None:
    """Submit as runs finish, never more than `limit` in flight."""
    threads = min(limit, options.wait_max_workers or limit)
    waiting(len(jobs), threads)
    with short_gil_turns(), _waiters(threads) as workers:
        rolling(jobs, tracker, workers, limit, lambda item: _submit(tracker, item))


def run_remote(
    jobs: Sequence[PlannedJob],
    tracker: Tracker,
    options: LaunchOptions,
    *,
    concurrent_submit: bool,
    after_submit: AfterSubmit | None,
) -> None:
    limit = options.parallel
    if limit is not None:
        _capped(jobs, tracker, options, limit)
        return
    in_flight = _submit_all(jobs, tracker, concurrent_submit)
    if after_submit is not None and in_flight:
        after_submit([item.outcome for item in in_flight])
    if not options.wait:
        if options.fail_fast:
            fail_fast_not_following(len(in_flight))
        for item in in_flight:
            item.outcome.result = item.outcome.handle
        not_waiting(len(in_flight))
        return
    _wait_all(in_flight, tracker, options.wait_max_workers)
