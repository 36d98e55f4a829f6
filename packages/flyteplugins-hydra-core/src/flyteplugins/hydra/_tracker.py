"""Every change of a job's phase, made in one place: the outcome, the journal line, the progress view."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._errors import RemoteRunError
from ._outcome import JobOutcome
from ._phase import Phase
from ._report import Progress

if TYPE_CHECKING:
    from ._execute import PlannedJob
    from ._journal import Journal
    from ._options import LaunchOptions


class Tracker:
    """The outcomes of one execution, and the only code that changes them.

    `stop` is set by `fail_fast` after the first failure and by Ctrl-C; schedulers check it before
    starting another job.
    """

    def __init__(self, jobs: Sequence[PlannedJob], options: LaunchOptions, journal: Journal | None) -> None:
        self.outcomes = [JobOutcome(job.num, list(job.overrides), run_name=job.run_name) for job in jobs]
        self.journal = journal
        self.fail_fast = options.fail_fast
        self.stop = threading.Event()
        self.progress = Progress(len(self.outcomes), numbered=len(self.outcomes) > 1, style=options.progress)
        if journal is not None:
            journal.jobs(self.outcomes)

    def _record(self, outcome: JobOutcome) -> None:
        if self.journal is not None:
            self.journal.job(outcome)

    def running(self, outcome: JobOutcome) -> None:
        """A local job starts now."""
        outcome.phase, outcome.started = Phase.RUNNING, time.time()
        self._record(outcome)
        self.progress.track(outcome)

    def submitting(self, outcome: JobOutcome) -> None:
        outcome.started = time.time()

    def submitted(self, outcome: JobOutcome, handle: Any) -> None:
        """A remote run exists now; it is announced before any waiting."""
        outcome.handle, outcome.url, outcome.phase = handle, handle.url, Phase.SUBMITTED
        outcome.run_name = getattr(handle, "name", None) or outcome.run_name
        self._record(outcome)
        self.progress.submitted(outcome)

    def succeeded(self, outcome: JobOutcome, result: Any) -> None:
        outcome.finished = time.time()
        outcome.phase, outcome.result = Phase.SUCCEEDED, result
        outcome.url = outcome.url or getattr(result, "url", None)
        self._record(outcome)
        self.progress.finished(outcome)

    def failed(self, outcome: JobOutcome, error: BaseException) -> None:
        outcome.finished = time.time()
        outcome.started = outcome.started or outcome.finished
        outcome.phase = Phase.of(error.phase) if isinstance(error, RemoteRunError) else Phase.FAILED
        outcome.error = error
        if self.fail_fast:
            self.stop.set()
        self._record(outcome)
        self.progress.finished(outcome)

    def cancelled(self, outcome: JobOutcome) -> None:
        """Never started: the sweep was stopped before this job."""
        outcome.phase = Phase.CANCELLED
        outcome.error = RuntimeError("not started: the sweep was stopped before this job")
        self._record(outcome)

    def aborted(self, outcomes: Sequence[JobOutcome]) -> None:
        """Ctrl-C stopped these while they ran; jobs never started are cancelled."""
        now = time.time()
        for outcome in outcomes:
            outcome.phase, outcome.finished = Phase.ABORTED, now
            outcome.error = KeyboardInterrupt("aborted by Ctrl-C")
            self._record(outcome)
        for outcome in self.outcomes:
            if outcome.phase == Phase.PENDING:
                self.cancelled(outcome)
        self.progress.aborted(outcomes)

    def active(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if Phase(o.phase).active]

    def close(self) -> None:
        self.progress.close()
        if self.journal is not None:
            self.journal.sync()
