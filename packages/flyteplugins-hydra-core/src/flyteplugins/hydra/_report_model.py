"""What a sweep report shows, worked out from journal records: swept keys, objective, best job, failures.

The journal keeps each job's overrides as Hydra strings and its result as JSON, so everything the
HTML page and its charts need (which keys vary, which are numbers, what the objective is) is
derived here once, as plain data, and the page and chart modules only draw it.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import ConfigurationError

SUCCEEDED = "SUCCEEDED"
# A job in any other phase may still change: it is queued, submitted or running, or its sweep was killed.
FINISHED_PHASES = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "CANCELLED", "TIMED_OUT"})
# Sweepers that choose each trial from the results so far: their report plots the objective by trial order.
GRID_SWEEPERS = frozenset({"basic", "grid", "BasicSweeper"})


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _key_and_value(override: str) -> tuple[str, str]:
    key, sep, value = override.partition("=")
    return key.lstrip("+"), value if sep else ""


@dataclass(frozen=True)
class Key:
    """A swept key: its name, whether every value is a number, and its values in display order."""

    name: str
    numeric: bool
    values: tuple[str, ...]

    @property
    def log_scale(self) -> bool:
        """Numbers spanning two or more decades (learning rates) read better on a log axis."""
        numbers = [_number(v) for v in self.values]
        if not self.numeric or any(n is None or n <= 0 for n in numbers):
            return False
        return max(numbers) / min(numbers) >= 100


@dataclass
class JobView:
    """One job as the report shows it."""

    num: int
    overrides: tuple[str, ...]
    settings: dict[str, str]
    phase: str
    url: str | None
    run_name: str | None
    result: Any
    picked: Any
    objective: float | None
    error: str | None
    duration: float | None

    def number(self, key: str) -> float | None:
        return _number(self.settings.get(key, ""))


@dataclass
class FailureGroup:
    """Jobs that ended with the same message (or in the same phase, when no error was recorded)."""

    message: str
    detail: str
    jobs: list[JobView] = field(default_factory=list)


@dataclass
class SweepView:
    """Everything one report page shows."""

    header: dict[str, Any]
    jobs: list[JobView]
    keys: list[Key]
    fixed: list[str]
    objective_index: int
    tuple_width: int | None
    numeric: bool
    direction: str
    sampled: bool
    running: bool
    counts: dict[str, int]
    wall_time: float | None
    best: JobView | None
    failures: list[FailureGroup]
    made: float

    @property
    def scored(self) -> list[JobView]:
        """Jobs with a numeric objective, in job order: what the charts plot."""
        return [j for j in self.jobs if j.objective is not None]


def _sweeper(header: Mapping[str, Any]) -> str | None:
    """The sweeper's name from the journal header, or what the recorded overrides say about it.

    A `hydra/sweeper=` selection names it; an `interval(...)` search space means a sampling sweeper,
    since Hydra's basic (grid) sweeper refuses intervals.
    """
    sweeper = header.get("sweeper")
    if isinstance(sweeper, Mapping):
        sweeper = sweeper.get("name") or sweeper.get("_target_")
    if sweeper:
        return str(sweeper).rsplit(".", 1)[-1]
    values = [_key_and_value(str(o)) for o in header.get("overrides") or ()]
    named = [value for key, value in values if key == "hydra/sweeper"]
    if named:
        return named[0]
    return "sampling" if any("interval(" in value for _, value in values) else None


def _direction(header: Mapping[str, Any]) -> str:
    sweeper = header.get("sweeper")
    direction = header.get("direction") or (sweeper.get("direction") if isinstance(sweeper, Mapping) else None)
    if isinstance(direction, (list, tuple)) and direction:
        direction = direction[0]
    return "maximize" if str(direction or "").lower().startswith("max") else "minimize"


def _element(result: Any, index: int, width: int | None) -> Any:
    """The part of a result the report calls the objective: the whole value, or one element of a tuple."""
    if width is None:
        return result
    return result[index] if isinstance(result, (list, tuple)) and index < len(result) else None


def _objective(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _tuple_width(records: Sequence[Mapping[str, Any]], objective: int) -> int | None:
    """How many elements the task's tuple outputs have (None for single values); checks `objective` fits.

    Until some job has succeeded there is nothing to check against, so any index is accepted.
    """
    results = [r.get("result") for r in records if r.get("phase") == SUCCEEDED]
    widths = {len(r) for r in results if isinstance(r, list)}
    width = max(widths) if widths else None
    if objective < 0:
        raise ConfigurationError(f"objective={objective}: give the index of a tuple element, counting from 0.")
    if width is None and objective and results:
        raise ConfigurationError(
            f"objective={objective}: this sweep's results are single values, not tuples, so there is no element "
            f"{objective} to plot. Leave the objective at 0 (the default) for single-valued results."
        )
    if width is not None and objective >= width:
        raise ConfigurationError(
            f"objective={objective}: this sweep's results are tuples of {width} element(s); pick an index "
            f"from 0 to {width - 1}."
        )
    return width


def _keys(jobs: Sequence[JobView]) -> tuple[list[Key], list[str]]:
    """Keys whose value differs between jobs (the swept ones), and the overrides every job shares."""
    order: dict[str, None] = {}
    values: dict[str, set[str]] = {}
    for job in jobs:
        for key, value in job.settings.items():
            order.setdefault(key)
            values.setdefault(key, set()).add(value)
    swept = [k for k in order if len(values[k]) > 1 or any(k not in j.settings for j in jobs)]
    if len(jobs) == 1:
        swept = list(order)
    keys = []
    for name in swept:
        seen = values[name]
        numeric = all(_number(v) is not None for v in seen)
        ordered = sorted(seen, key=_number) if numeric else sorted(seen)
        keys.append(Key(name, numeric, tuple(ordered)))
    fixed = [f"{k}={next(iter(values[k]))}" for k in order if k not in swept]
    return keys, fixed


def _wall_time(records: Sequence[Mapping[str, Any]], running: bool, now: float) -> float | None:
    starts = [r["started"] for r in records if isinstance(r.get("started"), (int, float))]
    ends = [r["finished"] for r in records if isinstance(r.get("finished"), (int, float))]
    if not starts:
        return None
    end = now if running else max(ends or starts)
    return max(0.0, end - min(starts))


def _failures(jobs: Sequence[JobView]) -> list[FailureGroup]:
    groups: dict[str, FailureGroup] = {}
    for job in jobs:
        if job.phase == SUCCEEDED or job.phase not in FINISHED_PHASES:
            continue
        detail = job.error or f"{job.phase} (no error message was recorded)"
        message = detail.strip().splitlines()[0] if detail.strip() else detail
        groups.setdefault(message, FailureGroup(message, detail.strip())).jobs.append(job)
    return sorted(groups.values(), key=lambda g: (-len(g.jobs), g.jobs[0].num))


def sweep_view(
    header: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    *,
    objective: int = 0,
    running: bool | None = None,
    now: float | None = None,
) -> SweepView:
    """Work out what a report shows from a journal header and its jobs' latest records."""
    now = time.time() if now is None else now
    width = _tuple_width(records, objective)
    jobs = []
    for record in sorted(records, key=lambda r: int(r["num"])):
        overrides = tuple(str(o) for o in record.get("overrides") or ())
        started, finished = record.get("started"), record.get("finished")
        phase = str(record.get("phase") or "PENDING")
        result = record.get("result") if phase == SUCCEEDED else None
        picked = _element(result, objective, width)
        jobs.append(
            JobView(
                num=int(record["num"]),
                overrides=overrides,
                settings=dict(_key_and_value(o) for o in overrides),
                phase=phase,
                url=record.get("url"),
                run_name=record.get("run_name"),
                result=result,
                picked=picked,
                objective=_objective(picked),
                error=record.get("error"),
                duration=finished - started
                if isinstance(started, (int, float)) and isinstance(finished, (int, float))
                else None,
            )
        )
    keys, fixed = _keys(jobs)
    if running is None:
        running = any(j.phase not in FINISHED_PHASES for j in jobs)
    direction = _direction(header)
    scored = [j for j in jobs if j.objective is not None]
    pick = max if direction == "maximize" else min
    sweeper = _sweeper(header)
    return SweepView(
        header=dict(header),
        jobs=jobs,
        keys=keys,
        fixed=fixed,
        objective_index=objective,
        tuple_width=width,
        numeric=bool(scored),
        direction=direction,
        sampled=sweeper is not None and sweeper not in GRID_SWEEPERS,
        running=running,
        counts=dict(Counter(j.phase for j in jobs).most_common()),
        wall_time=_wall_time(records, running, now),
        best=pick(scored, key=lambda j: j.objective) if scored else None,
        failures=_failures(jobs),
        made=now,
    )
