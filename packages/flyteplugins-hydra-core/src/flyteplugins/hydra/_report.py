"""Everything the user reads about runs: submissions, live progress, aborts and the final table.

On a terminal one rich live display shows counts by phase and the runs still going; otherwise
(piped output, `NO_COLOR`, `CI`) each event is one plain line. Lines are written from any thread.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._summary import FULL_TABLE_JOBS, error_line, large_summary

if TYPE_CHECKING:
    from ._outcome import JobOutcome

log = logging.getLogger("flyteplugins.hydra")

_ACTIVE = ("SUBMITTED", "RUNNING")
_LIVE_ROWS = 10
_LIVE_FAILURES = 10


def _interactive() -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("CI"):
        return False
    return sys.stdout.isatty()


def _short(value: object, width: int = 24) -> str:
    value = getattr(value, "value", value)
    if isinstance(value, tuple):
        value = tuple(value)  # flyte's ActionOutputs: show the values, not its repr
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _seconds(outcome: JobOutcome) -> str:
    duration = outcome.duration
    return "" if duration is None else f"{duration:.1f}s"


class Progress:
    """Reports one launch: a live view on terminals, plain event lines elsewhere.

    `lines` prints one line per event (each submission, each finished job), whatever the size.
    The live view shows counts by phase and the first runs still going; above it, a sweep of up
    to `FULL_TABLE_JOBS` jobs also gets its event lines, a larger one only its first failures.
    Every event updates counts in O(1), and a refresh reads a bounded number of runs, so the
    view costs the same at 10 or 10,000 jobs.
    """

    def __init__(self, total: int, *, numbered: bool, style: str = "auto", live: bool | None = None) -> None:
        self.total = total
        self.numbered = numbered
        self.quiet = style == "off"
        self.finished_count = 0
        self._phases: dict[int, str] = {}
        self._counts: Counter[str] = Counter()
        self._going: dict[int, JobOutcome] = {}
        self._failures_shown = 0
        self._lock = threading.Lock()
        self._live: Any = None
        self._started = time.monotonic()
        if live is None:
            live = style == "auto" and _interactive()
        if live and total > 1:
            from rich.live import Live

            self._live = Live(self, refresh_per_second=4, transient=True, redirect_stdout=False)
            self._live.start()
        self._every_event = self._live is None or total <= FULL_TABLE_JOBS

    def _line(self, text: str) -> None:
        if self.quiet:
            return
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=sys.stdout, flush=True)

    def _move(self, outcome: JobOutcome) -> None:
        """Count the outcome under its phase now (call with the lock held)."""
        phase = str(outcome.phase)
        old = self._phases.get(outcome.num)
        if old is not None:
            self._counts[old] -= 1
            if not self._counts[old]:
                del self._counts[old]
        self._phases[outcome.num] = phase
        self._counts[phase] += 1
        if phase in _ACTIVE:
            self._going[outcome.num] = outcome
        else:
            self._going.pop(outcome.num, None)

    def counts(self) -> dict[str, int]:
        """Jobs by phase so far; jobs not yet started are `queued`."""
        with self._lock:
            counts = dict(self._counts)
            counts["queued"] = self.total - len(self._phases)
        return counts

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            counts = sorted(self._counts.items())
            waiting = self.total - len(self._phases)
            going = list(itertools.islice(self._going.values(), _LIVE_ROWS))
            more = len(self._going) - len(going)
            done = self.finished_count
        summary = ", ".join(f"{n} {phase.lower()}" for phase, n in counts)
        elapsed = time.monotonic() - self._started
        header = Text(f"{done}/{self.total} done  ({summary or 'starting'}; {waiting} queued)  {elapsed:.0f}s")
        if not going:
            return header
        table = Table(box=None, show_header=True, header_style="bold")
        for column in ("job", "overrides", "phase", "url"):
            table.add_column(column)
        for o in going:
            table.add_row(f"#{o.num}", _short(" ".join(o.overrides), 60), o.phase, o.url or "")
        parts = [header, table]
        if more:
            parts.append(Text(f"... and {more} more going"))
        return Group(*parts)

    def track(self, outcome: JobOutcome) -> None:
        with self._lock:
            self._move(outcome)

    def submitted(self, outcome: JobOutcome) -> None:
        """Announce a remote run as soon as it is submitted, before any waiting."""
        self.track(outcome)
        if not self._every_event:
            return
        prefix = f"Flyte run submitted [{outcome.num}]" if self.numbered else "Flyte run submitted"
        self._line(f"{prefix}: {outcome.url}")

    def expect(self, total: int) -> None:
        """More jobs than first counted: a sampling sweeper's trials, known as they start."""
        with self._lock:
            self.total = max(self.total, total)

    def ended_before(self, outcome: JobOutcome) -> None:
        """Counted as done, without a line: the job ended before this view began (`flyte hydra wait` of a sweep)."""
        with self._lock:
            self._move(outcome)
            self.finished_count += 1

    def started(self, outcome: JobOutcome, where: str = "") -> None:
        """A job seen starting somewhere else (a cluster driver's child action): counted, and a line of its own."""
        self.track(outcome)
        if not self._every_event:
            return
        overrides = " ".join(outcome.overrides) or "no overrides"
        self._line(f"job #{outcome.num} {outcome.phase} [{overrides}] {where}".rstrip())

    def finished(self, outcome: JobOutcome) -> None:
        with self._lock:
            self._move(outcome)
            self.finished_count += 1
            done = self.finished_count
            failures = self._failures_shown = self._failures_shown + (not outcome.ok)
        if self.total < 2 or (not self._every_event and (outcome.ok or failures > _LIVE_FAILURES + 1)):
            return
        if not self._every_event and failures == _LIVE_FAILURES + 1:
            self._line(f"More than {_LIVE_FAILURES} jobs failed: the others are counted below and listed at the end.")
            return
        detail = _short(outcome.result) if outcome.ok else error_line(outcome)
        self._line(f"[{done}/{self.total}] job #{outcome.num} {outcome.phase} {detail} {_seconds(outcome)}".rstrip())

    def aborted(self, outcomes: Sequence[JobOutcome], unresolved: Sequence[JobOutcome] = ()) -> None:
        """What an interrupt stopped, and each job whose run could not be confirmed stopped."""
        if not outcomes and not unresolved:
            self._line("Interrupted: nothing was running.")
            return
        if outcomes:
            self._line(f"Interrupted: aborted {len(outcomes)} run(s):")
        for o in outcomes[:FULL_TABLE_JOBS]:
            self._line(f"  job #{o.num} [{' '.join(o.overrides)}] {o.url or ''}".rstrip())
        if len(outcomes) > FULL_TABLE_JOBS:
            self._line(f"  ... and {len(outcomes) - FULL_TABLE_JOBS} more (every one is in the sweep's journal)")
        for o in unresolved:
            self._line(f"  job #{o.num} [{' '.join(o.overrides)}] {o.phase}: {o.error}")

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def waiting(count: int, workers: int) -> None:
    log.info("Waiting for %d Flyte run(s) with %d worker thread(s).", count, workers)


def not_waiting(count: int) -> None:
    log.info("Submitted %d Flyte run(s); not waiting for them to finish.", count)


def dry_run(plans: Sequence[tuple[JobOutcome, dict[str, Any]]], mode: str) -> None:
    """The jobs a launch would run, and with what, without running any."""
    print(f"Dry run: {len(plans)} job(s) would run in {mode} mode; nothing was submitted.", flush=True)
    for outcome, details in plans:
        print(f"  job #{outcome.num} [{' '.join(outcome.overrides) or 'no overrides'}]", flush=True)
        for key, value in details.items():
            print(f"      {key}: {value}", flush=True)


def summary(outcomes: Sequence[JobOutcome], *, style: str = "auto", sweep_dir: Path | None = None) -> None:
    """Once a sweep is over: a table of its jobs, or for a large sweep counts, failures and results.

    Up to `FULL_TABLE_JOBS` jobs: number, overrides, phase, result, duration and URL of each. Larger
    sweeps get `_summary.large_summary`, which points to where every job's row is kept.
    """
    if len(outcomes) < 2 or style == "off":
        return
    if len(outcomes) > FULL_TABLE_JOBS:
        print("\n".join(large_summary(outcomes, sweep_dir)), file=sys.stdout, flush=True)
        return
    rows = [
        (
            f"#{o.num}",
            " ".join(o.overrides) or "-",
            o.phase,
            _short(o.error if not o.ok else o.result if o.phase == "SUCCEEDED" else ""),
            _seconds(o),
            o.url or "",
        )
        for o in outcomes
    ]
    header = ("job", "overrides", "phase", "result", "duration", "url")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths)) + "  " + row[5] for row in [header, *rows]]
    lines.append(summary_counts(outcomes))
    print("\n".join(line.rstrip() for line in lines), file=sys.stdout, flush=True)


def summary_counts(outcomes: Sequence[JobOutcome]) -> str:
    """`3 succeeded, 1 failed`, then each other kind of ending on its own: aborted and cancelled jobs did not fail.

    A succeeded run whose outputs could not be read counts as succeeded, and is named again as unread.
    """
    counts = Counter(str(o.phase) for o in outcomes)
    unread = sum(o.phase == "SUCCEEDED" and not o.ok for o in outcomes)
    failed = counts["FAILED"] + counts["TIMED_OUT"]
    parts = [f"{counts['SUCCEEDED']} succeeded", f"{failed} failed"]
    parts += [f"{n} {label}" for n, label in ((counts["ABORTED"], "aborted"), (counts["CANCELLED"], "cancelled")) if n]
    if unread:
        parts.append(f"{unread} result(s) not read yet")
    unsettled = [o for o in outcomes if o.phase in ("SUBMITTING", "SUBMITTED", "RUNNING")]
    not_awaited = sum(o.ok for o in unsettled)
    if not_awaited:
        parts.append(f"{not_awaited} submitted, not awaited")
    if len(unsettled) > not_awaited:
        parts.append(f"{len(unsettled) - not_awaited} not known to have stopped")
    return ", ".join(parts)


def fail_fast_aborting(failure: JobOutcome, count: int) -> None:
    log.warning("fail_fast: job #%d failed; aborting the %d run(s) still going.", failure.num, count)


def fail_fast_nothing_left(failure: JobOutcome) -> None:
    log.warning(
        "fail_fast: job #%d failed, but every other run had finished already: nothing left to stop.", failure.num
    )


def fail_fast_not_following(count: int) -> None:
    log.warning(
        "fail_fast has no effect without waiting: the %d submitted run(s) are not followed, so a failure cannot stop "
        "the others. Stop them with `flyte hydra abort <sweep dir>` if needed.",
        count,
    )


def sweep_started(sweep_id: str, journal: os.PathLike[str] | str) -> None:
    """The sweep id first: with it (or the journal's folder) the sweep can be found again later."""
    print(f"Sweep {sweep_id}: journal {journal}", flush=True)


def come_back_later(sweep_dir: os.PathLike[str] | str) -> None:
    """After a sweep submitted without waiting: how to follow it from any terminal."""
    print(
        f"Not waiting for the runs. Follow them with `flyte hydra wait {sweep_dir}` (or status, results, abort).",
        flush=True,
    )


def left_running(outcomes: Sequence[JobOutcome]) -> None:
    """A rerun does not touch runs that are still going on the cluster."""
    for o in outcomes:
        print(f"job #{o.num} [{' '.join(o.overrides)}] is still {o.phase} ({o.url}): not rerun.", flush=True)


def sweep_report(sweep_dir: str | os.PathLike[str], *, quiet: bool = False) -> Path | None:
    """Write `<sweep dir>/report.html` once a journaled sweep is over, and name it (and how to remake it).

    Called after `summary`; `quiet` writes it without the line. A report that cannot be written is a
    warning, never a failed sweep.
    """
    from ._errors import FlyteHydraError
    from ._html_report import write_report_from_journal

    try:
        path = write_report_from_journal(sweep_dir)
    except (OSError, FlyteHydraError) as error:
        log.warning("No HTML report for the sweep in %s: %s", sweep_dir, error)
        return None
    if not quiet:
        print(f"Report: {path} (remake it any time: flyte hydra results {sweep_dir} --format html)", flush=True)
    return path


def rerun_plan(sweep_dir: str | os.PathLike[str], total: int, again: Sequence[dict[str, Any]], mode: str) -> None:
    """What a rerun will run and why, before it runs anything."""
    if not again:
        print(f"Nothing to rerun: all {total} job(s) recorded in {sweep_dir} succeeded.", flush=True)
        return
    print(f"Rerunning {len(again)} of {total} job(s) recorded in {sweep_dir} ({mode}):", flush=True)
    for record in again[:20]:
        why = record.get("error") or ("never finished" if record["phase"] in ("PENDING", "RUNNING") else "")
        overrides = " ".join(record["overrides"]) or "no overrides"
        print(f"  job #{record['num']} [{overrides}] {record['phase']}{': ' + why if why else ''}", flush=True)
    if len(again) > 20:
        print(f"  ... and {len(again) - 20} more (see {sweep_dir}/flyte_runs.jsonl)", flush=True)
