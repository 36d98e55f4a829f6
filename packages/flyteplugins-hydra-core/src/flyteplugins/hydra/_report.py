"""The one place that writes user-facing lines about runs (URLs, waiting, summaries)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._outcome import JobOutcome

log = logging.getLogger("flyteplugins.hydra")


def run_submitted(url: str, index: int | None) -> None:
    """Announce a remote run as soon as it is submitted, before any waiting."""
    prefix = "Flyte run submitted" if index is None else f"Flyte run submitted [{index}]"
    print(f"{prefix}: {url}", file=sys.stdout, flush=True)


def waiting(count: int, workers: int) -> None:
    log.info("Waiting for %d Flyte run(s) with %d worker thread(s).", count, workers)


def not_waiting(count: int) -> None:
    log.info("Submitted %d Flyte run(s); not waiting for them to finish.", count)


def _short(value: object, width: int = 24) -> str:
    text = "" if value is None else str(getattr(value, "value", value))
    return text if len(text) <= width else text[: width - 1] + "…"


def summary(outcomes: Sequence[JobOutcome]) -> None:
    """A table of every job of a sweep once it is over: number, overrides, phase, result, URL."""
    if len(outcomes) < 2:
        return
    rows = [
        (f"#{o.num}", " ".join(o.overrides) or "-", o.phase, _short(o.result if o.ok else o.error), o.url or "")
        for o in outcomes
    ]
    header = ("job", "overrides", "phase", "result", "url")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4] for row in [header, *rows]]
    failed = sum(not o.ok for o in outcomes)
    lines.append(f"{len(outcomes) - failed} succeeded, {failed} failed")
    print("\n".join(line.rstrip() for line in lines), file=sys.stdout, flush=True)
