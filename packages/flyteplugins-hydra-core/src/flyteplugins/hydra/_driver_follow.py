"""Following a running `driver=cluster` sweep from the client: the driver run's child actions are its jobs.

flyte has no public stream of a run's actions, so the client lists the driver run's children
(`Action.listall(for_run_name=..., parent_name=<root>)`: one paged `ListActions`, 100 actions a page)
once per interval, and matches each child to its job by its group, `#<num> <overrides>`. The
interval grows with the listing's own cost, so following a sweep of thousands of jobs never spends
more than a fifth of its time listing; nothing is asked per child. What the listing says (a child
started, succeeded, failed) goes to the progress view and the journal as soon as it is seen. A
child's value and error are not in the listing: they come with the driver's result, once the whole
sweep has ended; until then a succeeded job says so (`ValuePending`, which counts as not read yet).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._errors import RemoteRunError, ResultUnavailableError
from ._outcome import JobOutcome
from ._phase import Phase

if TYPE_CHECKING:
    from ._report import Progress

log = logging.getLogger("flyteplugins.hydra")

FOLLOW_SECONDS = 1.0  # between two listings of the driver run's children, at least
_LISTING_SHARE = 0.2  # at most this share of the time goes to listing, however many children there are
_GROUP = re.compile(r"#(\d+)(?: (.*))?", re.DOTALL)
PENDING_VALUE = "value comes at sweep end"


class ValuePending(ResultUnavailableError):
    """The job's child action succeeded; its value arrives with the driver run's result, when the sweep ends."""

    def __init__(self, url: str | None) -> None:
        super().__init__("SUCCEEDED", url, PENDING_VALUE)
        Exception.__init__(self, PENDING_VALUE)


@dataclass(frozen=True)
class Child:
    """One child action of a driver run as a listing shows it, with the job its group names."""

    num: int
    overrides: list[str]
    action: str
    phase: Phase
    started: float | None
    finished: float | None


def _seconds(status: Any, field: str) -> float | None:
    return getattr(status, field).ToNanoseconds() / 1e9 if status.HasField(field) else None


def child_of(action: Any) -> Child | None:
    """The job a listed action runs (None for an action that is not one of the sweep's jobs)."""
    match = _GROUP.fullmatch(action.pb2.metadata.group)
    if match is None:
        return None
    status = action.pb2.status
    return Child(
        num=int(match.group(1)),
        overrides=(match.group(2) or "").split(),
        action=action.name,
        phase=Phase.of(action.phase.name),
        started=_seconds(status, "start_time"),
        finished=_seconds(status, "end_time"),
    )


def list_children(run: Any) -> list[Child]:
    """The driver run's children, in one paged listing of the actions whose parent is the run's root action."""
    from flyte.remote import Action

    root = run.pb2.action.id.name
    children = (child_of(a) for a in Action.listall(for_run_name=run.name, parent_name=root))
    return [c for c in children if c is not None]


class ChildView:
    """The jobs of one driver sweep, kept up to date from listings of its children, and shown as they change.

    Jobs of a grid sweep are known from the start; a sampling sweeper's trials become jobs when
    their child actions appear. A job a listing has seen end keeps that ending: the driver's result,
    once the sweep is over, is the only thing that replaces it.
    """

    def __init__(self, outcomes: Iterable[JobOutcome], url: str | None, progress: Progress | None = None) -> None:
        self.jobs = {o.num: o for o in outcomes}
        self.url = url
        self.progress = progress
        # Jobs whose ending needs no line: shown already, or over before following began.
        self.announced = {o.num for o in self.jobs.values() if Phase(o.phase).terminal}

    @property
    def outcomes(self) -> list[JobOutcome]:
        return [self.jobs[n] for n in sorted(self.jobs)]

    def apply(self, children: Sequence[Child]) -> list[JobOutcome]:
        """Take in one listing; the jobs it changed (to journal), each shown in the progress view."""
        changed = []
        for child in children:
            outcome = self.jobs.get(child.num)
            if outcome is None:
                outcome = self.jobs[child.num] = JobOutcome(child.num, child.overrides)
                if self.progress is not None:
                    self.progress.expect(len(self.jobs))
            if Phase(outcome.phase).terminal:
                continue
            phase = child.phase
            if phase == outcome.phase and outcome.run_name == child.action:
                continue
            first_seen = outcome.phase != Phase.RUNNING
            outcome.url, outcome.run_name = self.url, child.action
            outcome.started = child.started or outcome.started or time.time()
            outcome.phase = Phase.RUNNING
            if first_seen and self.progress is not None:
                self.progress.started(outcome, f"child action {child.action}")
            if phase.terminal:
                self._ended(outcome, child)
            changed.append(outcome)
        return changed

    def _ended(self, outcome: JobOutcome, child: Child) -> None:
        outcome.phase, outcome.finished = child.phase, child.finished or time.time()
        if child.phase == Phase.SUCCEEDED:
            outcome.error = ValuePending(self.url)
        else:
            outcome.error = RemoteRunError(
                child.phase.value, self.url, f"child action {child.action}; its error comes with the driver's result"
            )
        if self.progress is not None:
            self.progress.finished(outcome)
            self.announced.add(outcome.num)

    def settle(self, final: Sequence[JobOutcome]) -> None:
        """The driver's result is in: every job as it reports it; the endings not shown yet, shown now."""
        for outcome in final:
            self.jobs[outcome.num] = outcome
            if self.progress is not None and outcome.num not in self.announced:
                self.progress.expect(len(self.jobs))
                self.progress.finished(outcome)
                self.announced.add(outcome.num)


def follow(run: Any, view: ChildView, record: Any, *, interval: float = FOLLOW_SECONDS) -> None:
    """List `run`'s children every `interval` seconds (or longer, see the module doc) until the run is terminal.

    `record(changed)` is called with the jobs each listing changed. A listing that fails is a warning:
    the view lags, the sweep's result does not depend on it. The run is waited for on a thread of its
    own, so the loop ends as soon as the driver does.
    """
    done = threading.Event()
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            run.wait(quiet=True)
        except BaseException as e:  # handed to the caller's thread below
            failure.append(e)
        finally:
            done.set()

    threading.Thread(target=wait, name="flyte-hydra-driver-wait", daemon=True).start()
    warned = False
    while not done.is_set():
        began = time.monotonic()
        try:
            changed = view.apply(list_children(run))
        except Exception as e:
            if not warned:
                log.warning(f"Could not list the children of driver run {run.name} (progress will lag): {e}")
                warned = True
            changed = []
        if changed:
            record(changed)
        spent = time.monotonic() - began
        done.wait(max(interval, spent / _LISTING_SHARE))
    if failure:
        raise failure[0]
