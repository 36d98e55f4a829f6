"""Entry tasks for following a cluster-driven sweep: children that end in an order the test controls."""

from __future__ import annotations

import json
import time
from pathlib import Path

import flyte
from omegaconf import DictConfig

env = flyte.TaskEnvironment(name="driver_paced", resources=flyte.Resources(cpu=1, memory="500Mi"))

_BOUND = 60.0  # seconds a waiting child waits at most, so a broken test fails instead of hanging


def _ended_elsewhere(journal: Path, own: str) -> bool:
    """Whether `journal` records every job other than the one with override `own` as ended."""
    if not journal.is_file():
        return False
    latest = {}
    for line in journal.read_text().splitlines():
        record = json.loads(line) if line.strip() else {}
        if "num" in record:
            latest[record["num"]] = record
    others = [r for r in latest.values() if own not in r["overrides"]]
    return bool(others) and all(r["phase"] in ("SUCCEEDED", "FAILED") for r in others)


@env.task
def after_the_others(cfg: DictConfig, journal: str) -> float:
    """x, at once, failing for x == cfg.fail_on; job x == cfg.last only once `journal` records the others ended.

    The client writes that journal as it follows the driver's children: the last job can only end if
    the client saw the others end while the driver was still running.
    """
    if cfg.get("fail_on") is not None and int(cfg.x) == int(cfg.fail_on):
        raise ValueError(f"x={cfg.x} fails on purpose")
    if int(cfg.x) == int(cfg.last):
        deadline = time.monotonic() + _BOUND
        while not _ended_elsewhere(Path(journal), f"x={cfg.x}"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the client never journaled the other jobs as ended in {journal}")
            time.sleep(0.1)
    return float(cfg.x)


@env.task
def until_released(cfg: DictConfig, release: str) -> float:
    """x, at once; job x == cfg.last only once the file `release` exists."""
    if int(cfg.x) == int(cfg.last):
        deadline = time.monotonic() + _BOUND
        while not Path(release).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{release} was never created")
            time.sleep(0.1)
    return float(cfg.x)
