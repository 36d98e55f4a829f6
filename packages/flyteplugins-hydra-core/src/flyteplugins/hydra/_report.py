"""The one place that writes user-facing lines about runs (URLs, waiting, summaries)."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("flyteplugins.hydra")


def run_submitted(url: str, index: int | None) -> None:
    """Announce a remote run as soon as it is submitted, before any waiting."""
    prefix = "Flyte run submitted" if index is None else f"Flyte run submitted [{index}]"
    print(f"{prefix}: {url}", file=sys.stdout, flush=True)


def waiting(count: int, workers: int) -> None:
    log.info("Waiting for %d Flyte run(s) with %d worker thread(s).", count, workers)


def not_waiting(count: int) -> None:
    log.info("Submitted %d Flyte run(s); not waiting for them to finish.", count)
