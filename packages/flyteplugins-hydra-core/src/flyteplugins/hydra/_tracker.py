"""Every change of a job's phase, made in one place: the outcome, the journal line, the progress view."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._errors import RemoteRunError, ResultUnavailableError
from ._outcome import JobOutcome
from ._phase import Phase
from ._report import Progress

if TYPE_CHECKING:
    from ._execute import PlannedJob
    from ._journal import Journal
    from ._options import LaunchOptions


INTERRUPTED = "aborted by Ctrl-C"


class Tracker:
    """The outcomes of one execution, and the only code that changes them.

    `stop` is set by `fail_fast` after the first failure and by Ctrl-C; schedulers check it before
    starting another job. Changes may come from any thread (submissions answer on worker threads
    while Ctrl-C aborts from the main one): they are made under one lock, and `wait_for_change`
    lets an aborting thread wait for a submission's answer.
    """

    def __init__(self, jobs: Sequence[PlannedJob], options: LaunchOptions, journal: Journal | None) -> None:
        self.outcomes = [JobOutcome(job.num, list(job.overrides), run_name=job.run_name) for job in jobs]
        self.journal = journal
        self.fail_fast = options.fail_fast
        self.stop = threading.Event()
        self.failure: JobOutcome | None = None  # fail_fast's first failed job
        self.fail_fast_done = False  # whether what was still running after it has been dealt with
        self.progress = Progress(len(self.outcomes), numbered=len(self.outcomes) > 1, style=options.progress)
        self._changed = threading.Condition(threading.RLock())
        if journal is not None:
            journal.jobs(self.outcomes)

    def _record(self, outcome: JobOutcome) -> None:
        if self.journal is not None:
            self.journal.job(outcome)
        with self._changed:
            self._changed.notify_all()

    def wait_for_change(self, timeout: float) -> None:
        """Block until any job's record changes, or `timeout` seconds pass."""
        with self._changed:
            self._changed.wait(timeout)

    def running(self, outcome: JobOutcome, *, url: str | None = None) -> None:
        """A local job starts now; `url` is where its run will keep its metadata, if known."""
        outcome.phase, outcome.started = Phase.RUNNING, time.time()
        outcome.url = outcome.url or url
        self._record(outcome)
        self.progress.track(outcome)

    def submitting(self, outcome: JobOutcome) -> None:
        """Its submission starts now: from here on a run of its name may exist, answer or not."""
        with self._changed:
            outcome.phase, outcome.started = Phase.SUBMITTING, time.time()
            self._record(outcome)

    def submitted(self, outcome: JobOutcome, handle: Any) -> bool:
        """A remote run exists now; it is announced before any waiting. False if an abort got to it first."""
        with self._changed:
            if outcome.phase.terminal:
                return False
            outcome.handle, outcome.url, outcome.phase = handle, handle.url, Phase.SUBMITTED
            outcome.run_name = getattr(handle, "name", None) or outcome.run_name
            self._record(outcome)
        self.progress.submitted(outcome)
        return True

    def succeeded(self, outcome: JobOutcome, result: Any) -> None:
        outcome.finished = time.time()
        outcome.phase, outcome.result = Phase.SUCCEEDED, result
        outcome.url = outcome.url or getattr(result, "url", None)
        self._record(outcome)
        self.progress.finished(outcome)

    def failed(self, outcome: JobOutcome, error: BaseException) -> None:
        """The job failed, or (`ResultUnavailableError`) its run could not be read: it keeps the run's phase."""
        with self._changed:
            outcome.finished = time.time()
            outcome.started = outcome.started or outcome.finished
            outcome.phase = Phase.of(error.phase) if isinstance(error, RemoteRunError) else Phase.FAILED
            outcome.error = error
            if self.fail_fast and not isinstance(error, ResultUnavailableError):
                self.failure = self.failure or outcome
                self.stop.set()
            self._record(outcome)
        self.progress.finished(outcome)

    def cancelled(self, outcome: JobOutcome) -> None:
        """Never started: the sweep was stopped before this job."""
        outcome.phase = Phase.CANCELLED
        outcome.error = RuntimeError("not started: the sweep was stopped before this job")
        self._record(outcome)

    def abort_answered(self, outcome: JobOutcome, run: Any, why: str, failure: BaseException | None) -> bool:
        """The abort of the job's run (`run`, found by handle or by name) was answered; True when it was aborted.

        A run whose abort failed keeps an active phase and says so: it may still be going.
        """
        with self._changed:
            if outcome.phase.terminal:
                return outcome.phase == Phase.ABORTED
            outcome.handle, outcome.url = run, run.url
            outcome.run_name = getattr(run, "name", None) or outcome.run_name
            if failure is None:
                outcome.phase, outcome.finished = Phase.ABORTED, time.time()
                outcome.error = RuntimeError(why)
            else:
                outcome.phase = Phase.SUBMITTED
                outcome.error = RuntimeError(
                    f"{why}, but aborting run {outcome.run_name} failed ({type(failure).__name__}: {failure}); "
                    "it may still be running: stop it with `flyte hydra abort <sweep dir>`"
                )
            self._record(outcome)
        return failure is None

    def unanswered(self, outcome: JobOutcome, why: str) -> None:
        """Stopped while its submission went unanswered, and no run of its name was found in time."""
        with self._changed:
            if outcome.phase != Phase.SUBMITTING:
                return
            outcome.error = RuntimeError(
                f"{why} while its submission was unanswered, and no run named {outcome.run_name} was found by then; "
                "if it was created after all, `flyte hydra status <sweep dir>` finds it (and `flyte hydra abort` "
                "stops it)"
            )
            self._record(outcome)

    def interrupted(self, stopped: Sequence[JobOutcome]) -> None:
        """After Ctrl-C: local jobs still running are aborted, jobs never started cancelled; say what was stopped."""
        now = time.time()
        local = [o for o in self.outcomes if o.phase == Phase.RUNNING and o.handle is None]
        for outcome in local:
            outcome.phase, outcome.finished = Phase.ABORTED, now
            outcome.error = RuntimeError(INTERRUPTED)
            self._record(outcome)
        for outcome in self.outcomes:
            if outcome.phase == Phase.PENDING:
                self.cancelled(outcome)
        aborted = sorted([*stopped, *local], key=lambda o: o.num)
        self.progress.aborted(aborted, [o for o in self.outcomes if not o.phase.terminal])

    def in_flight(self) -> list[JobOutcome]:
        """Jobs whose runs may be going: submitted, running, or with a submission not yet answered."""
        return [o for o in self.outcomes if o.phase.active or o.phase == Phase.SUBMITTING]

    def close(self) -> None:
        self.progress.close()
        if self.journal is not None:
            self.journal.sync()
