"""The end-of-sweep text summary of a large sweep: counts, failures grouped by error, the extreme results.

A sweep of up to `FULL_TABLE_JOBS` jobs prints one row per job (`_report.summary`). Beyond that a
row per job buries what matters, so the summary is a few dozen lines whatever the sweep's size,
and says where every job's row is kept: the journal, `flyte hydra results`, the HTML report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._outcome import JobOutcome

FULL_TABLE_JOBS = 20
FAILURE_GROUPS = 5
JOBS_PER_GROUP = 3
EXTREMES = 3
_MESSAGE_WIDTH = 160


@dataclass
class FailureGroup:
    """Failed jobs whose error reads the same (its first line, without the job's own run URL)."""

    message: str
    nums: list[int] = field(default_factory=list)


def error_line(outcome: JobOutcome, width: int = _MESSAGE_WIDTH) -> str:
    """One line for a job's error: its type and first line, without its run URL, at most `width` long."""
    error = outcome.error
    if error is None:
        return str(outcome.phase)
    text = f"{type(error).__name__}: {error}".strip()
    if outcome.url:
        text = text.replace(f" ({outcome.url})", "").replace(outcome.url, "<run>")
    first = text.splitlines()[0] if text else type(error).__name__
    return first if len(first) <= width else first[: width - 1] + "…"


def failure_groups(outcomes: Sequence[JobOutcome]) -> list[FailureGroup]:
    """Failed jobs grouped by `error_line`, largest group first, then by first job."""
    groups: dict[str, FailureGroup] = {}
    for outcome in outcomes:
        if not outcome.ok:
            message = error_line(outcome)
            groups.setdefault(message, FailureGroup(message)).nums.append(outcome.num)
    return sorted(groups.values(), key=lambda g: (-len(g.nums), g.nums[0]))


def _number(outcome: JobOutcome) -> float | None:
    if outcome.phase != "SUCCEEDED":
        return None
    value = getattr(outcome.result, "value", outcome.result)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def counts_line(outcomes: Sequence[JobOutcome]) -> str:
    """`10000 jobs: 9500 succeeded, 480 failed, 20 cancelled` (phases by size)."""
    counts = Counter(str(o.phase) for o in outcomes)
    parts = ", ".join(f"{n} {phase.lower()}" for phase, n in counts.most_common())
    return f"{len(outcomes)} jobs: {parts}"


def _job(outcome: JobOutcome) -> str:
    return f"#{outcome.num} [{' '.join(outcome.overrides) or 'no overrides'}]"


def large_summary(outcomes: Sequence[JobOutcome], sweep_dir: Path | None) -> list[str]:
    """The summary lines of a sweep too large for a row per job."""
    by_num = {o.num: o for o in outcomes}
    lines = [counts_line(outcomes)]
    groups = failure_groups(outcomes)
    if groups:
        failed = sum(len(g.nums) for g in groups)
        lines.append(f"Failures ({failed}, {len(groups)} distinct error(s)):")
        for group in groups[:FAILURE_GROUPS]:
            shown = ", ".join(_job(by_num[n]) for n in group.nums[:JOBS_PER_GROUP])
            more = f" and {len(group.nums) - JOBS_PER_GROUP} more" if len(group.nums) > JOBS_PER_GROUP else ""
            lines.append(f"  {len(group.nums)} x {group.message}")
            lines.append(f"      {shown}{more}")
        if len(groups) > FAILURE_GROUPS:
            rest = sum(len(g.nums) for g in groups[FAILURE_GROUPS:])
            lines.append(f"  ... {len(groups) - FAILURE_GROUPS} other error(s), {rest} job(s)")
    scored = sorted((n, o.num) for o in outcomes if (n := _number(o)) is not None)
    if scored:
        low = scored[:EXTREMES]
        high = [s for s in reversed(scored[-EXTREMES:]) if s not in low]
        lines.append(
            f"Results ({len(scored)} numeric): lowest " + ", ".join(f"{v:g} {_job(by_num[n])}" for v, n in low)
        )
        if high:
            lines.append("  highest " + ", ".join(f"{v:g} {_job(by_num[n])}" for v, n in high))
    lines.append(every_job_pointer(sweep_dir))
    return lines


def every_job_pointer(sweep_dir: Path | None) -> str:
    """Where the row of every job is kept, since this summary does not list them all."""
    if sweep_dir is None:
        return "Every job's outcome is in the list this launch returned."
    return (
        f"Every job: {sweep_dir / 'flyte_runs.jsonl'} (the journal), `flyte hydra results {sweep_dir}`, "
        f"or {sweep_dir / 'report.html'}"
    )
