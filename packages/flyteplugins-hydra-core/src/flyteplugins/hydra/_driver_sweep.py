"""Coming back to a `driver=cluster` sweep: its jobs live inside one driver run, which `Sweep` follows.

A local-driver sweep is N top-level runs; a cluster-driver sweep is one run whose children are its jobs.
Its journal header names the driver run (`driver_run`), and the run carries the sweep's label, so
`Sweep.open` finds it by directory or by id. While the driver runs, each job's phase comes from its
child action (one listing of the run's children, matched by the job's group, `#<num> <overrides>`;
see `_driver_follow`); once it has finished, everything comes from the driver's own result.
Aborting the sweep aborts the driver, which aborts its children; a `@hydra.main` app's driver
(`driver_task: app`) has runs of its own as jobs, aborted after it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._driver_plan import DRIVER_LABEL
from ._identity import SWEEP_LABEL
from ._phase import Phase

if TYPE_CHECKING:
    from flyte.remote import Run

    from ._outcome import JobOutcome
    from ._sweep import Sweep


def is_driven(header: dict[str, Any]) -> bool:
    return header.get("driver") == "cluster" and bool(header.get("driver_run"))


def find_driver_run(sweep_id: str, project: str | None, domain: str | None) -> Run | None:
    """The driver run of sweep `sweep_id`, by its labels; None when the sweep has no driver run."""
    from flyte.remote import Run

    runs = list(
        Run.listall(with_labels={SWEEP_LABEL: sweep_id, DRIVER_LABEL: "cluster"}, project=project, domain=domain)
    )
    if not runs:
        return None
    return max(runs, key=lambda r: r.pb2.action.status.start_time.ToNanoseconds())


def header_for(run: Run, sweep_id: str) -> dict[str, Any]:
    return {"sweep_id": sweep_id, "mode": "remote", "driver": "cluster", "driver_run": run.name}


def _driver(sweep: Sweep) -> Run:
    from flyte.remote import Run

    from ._mode import ensure_remote_ready

    ensure_remote_ready()
    return Run.get(sweep.header["driver_run"])


def _phase(run: Run) -> Phase:
    return Phase.of(getattr(run.phase, "name", str(run.phase)))


def refresh(sweep: Sweep) -> Run:
    """Bring `sweep.outcomes` up to date from the driver run (and one listing of its children while it runs)."""
    from ._driver_client import driver_outcomes
    from ._driver_follow import ChildView, list_children
    from ._errors import RemoteRunError

    run = _driver(sweep)
    phase = _phase(run)
    if phase == Phase.SUCCEEDED:
        fresh = driver_outcomes(run)
        for outcome in fresh:
            outcome.handle = run
        sweep.outcomes = fresh
    elif phase.terminal:
        for outcome in sweep.outcomes:
            if not Phase(outcome.phase).terminal:
                outcome.phase, outcome.finished = phase, outcome.finished or time.time()
                outcome.error = RemoteRunError(phase.value, run.url, "the sweep driver run ended first")
    else:
        view = ChildView(sweep.outcomes, run.url)
        view.apply(list_children(run))
        sweep.outcomes = view.outcomes
        for outcome in sweep.outcomes:
            outcome.url, outcome.handle = run.url, run
    return run


def wait(sweep: Sweep) -> list[JobOutcome]:
    """Follow the driver run's children until it ends, showing and journaling each change; then the summary."""
    from ._driver_follow import ChildView, follow
    from ._report import Progress, summary

    run = refresh(sweep)
    sweep._write_back()
    if not _phase(run).terminal:
        progress = Progress(len(sweep.outcomes), numbered=True)
        for outcome in sweep.outcomes:
            if Phase(outcome.phase).terminal:
                progress.ended_before(outcome)
            else:
                progress.track(outcome)
        view = ChildView(sweep.outcomes, run.url, progress)
        try:
            follow(run, view, sweep._write_back)
            refresh(sweep)
            view.settle(sweep.outcomes)
        finally:
            progress.close()
    summary(sweep.outcomes)
    return sweep.outcomes


def abort(sweep: Sweep, reason: str) -> list[JobOutcome]:
    """Abort the driver run (its children go with it); the jobs it had not finished, marked aborted."""
    run = refresh(sweep)
    if _phase(run).terminal:
        return []
    run.abort(reason=reason)
    if sweep.header.get("driver_task") == "app":
        from ._driver_app import abort_spawned

        abort_spawned(run, reason)  # an app's jobs are runs of their own, not children of the driver
    chosen = [o for o in sweep.outcomes if not Phase(o.phase).terminal]
    for outcome in chosen:
        outcome.phase, outcome.finished = Phase.ABORTED, time.time()
        outcome.error = RuntimeError(reason)
    return chosen
