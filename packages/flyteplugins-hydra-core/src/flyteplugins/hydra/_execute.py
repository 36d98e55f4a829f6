"""Run planned jobs under one `LaunchOptions`: a dry run, local or remote scheduling, and Ctrl-C.

Surfaces hand over a list of `PlannedJob`s. `prepare` (composition) always runs on the calling
thread, one job after another, because Hydra's composition and its `HydraConfig` singleton are
not thread-safe; `start` runs or submits the job and may run on worker threads. Nothing here
knows which surface it serves. The strategies live in `_local` and `_remote`; every phase change
goes through the `Tracker`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._abort import stop_runs
from ._local import run_local
from ._outcome import JobOutcome
from ._phase import Phase
from ._remote import AfterSubmit, run_remote
from ._report import dry_run, summary, sweep_report
from ._tracker import INTERRUPTED, Tracker
from ._workers import second_interrupt_exits

if TYPE_CHECKING:
    from ._journal import Journal
    from ._options import LaunchOptions


@dataclass(frozen=True)
class PlannedJob:
    """A job ready to go: its Hydra job number, overrides, and how to prepare, start and describe it."""

    num: int
    overrides: Sequence[str]
    prepare: Callable[[], Any]
    start: Callable[[Any], Any]
    describe: Callable[[Any], dict[str, Any]] | None = None
    run_name: str | None = None


def _dry_run(jobs: Sequence[PlannedJob], mode: str) -> list[JobOutcome]:
    outcomes, plans = [], []
    for job in jobs:
        outcome = JobOutcome(job.num, list(job.overrides), run_name=job.run_name)
        try:
            prepared = job.prepare()
            details = job.describe(prepared) if job.describe else {}
            outcome.phase = Phase.PLANNED
        except Exception as e:
            outcome.phase, outcome.error = Phase.FAILED, e
            details = {"error": f"{type(e).__name__}: {e}"}
        outcomes.append(outcome)
        plans.append((outcome, details))
    dry_run(plans, mode)
    return outcomes


def _abort(tracker: Tracker) -> None:
    """First Ctrl-C: stop starting jobs, abort the remote runs in flight or being submitted, record it all."""
    tracker.stop.set()
    with second_interrupt_exits():
        tracker.interrupted(stop_runs(tracker, INTERRUPTED))


def execute(
    jobs: Sequence[PlannedJob],
    options: LaunchOptions,
    *,
    journal: Journal | None = None,
    concurrent_submit: bool = False,
    after_submit: AfterSubmit | None = None,
) -> list[JobOutcome]:
    """Run or submit every job; one outcome per job, in job order, failures included.

    `after_submit` sees the runs in flight once all are submitted and before any waiting (the CLI's
    `--follow` streams their logs there); it is not called locally or when `max_parallel` rolls jobs.
    """
    if options.dry_run:
        return _dry_run(jobs, options.mode)
    tracker = Tracker(jobs, options, journal)
    try:
        if options.mode == "local":
            run_local(jobs, tracker, options)
        else:
            run_remote(jobs, tracker, options, concurrent_submit=concurrent_submit, after_submit=after_submit)
    except KeyboardInterrupt:
        _abort(tracker)
        raise
    finally:
        tracker.close()
    summary(tracker.outcomes, style=options.progress, sweep_dir=journal.path.parent if journal else None)
    if journal is not None:
        sweep_report(journal.path.parent, quiet=options.progress == "off")
    return tracker.outcomes
