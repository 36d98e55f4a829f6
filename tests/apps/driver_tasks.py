"""Entry tasks for cluster-driven sweeps: a driver run calls them as its child actions."""

from __future__ import annotations

import os
import time
from pathlib import Path

import flyte
from omegaconf import DictConfig

env = flyte.TaskEnvironment(name="driver_apps", resources=flyte.Resources(cpu=1, memory="500Mi"))


@env.task
async def square(cfg: DictConfig) -> float:
    """x squared, and a failure for x == cfg.fail_on when set."""
    if cfg.get("fail_on") is not None and int(cfg.x) == int(cfg.fail_on):
        raise ValueError(f"x={cfg.x} fails on purpose")
    return float(cfg.x) ** 2


@env.task
def objective(cfg: DictConfig) -> float:
    """A smooth objective over `x`, best at 0.3."""
    return round((float(cfg.x) - 0.3) ** 2, 8)


@env.task
def in_flight(cfg: DictConfig, folder: str) -> int:
    """Record when this child starts and ends, holding on long enough for siblings to overlap if allowed."""
    here = Path(folder)
    here.mkdir(parents=True, exist_ok=True)
    start = time.time()
    time.sleep(float(cfg.get("hold", 1.0)))
    (here / f"{cfg.x}.span").write_text(f"{start} {time.time()}")
    return int(cfg.x)


@env.task
def lingers(cfg: DictConfig, pid_dir: str) -> float:
    """Writes its pid, then runs until aborted."""
    Path(pid_dir).mkdir(parents=True, exist_ok=True)
    (Path(pid_dir) / f"{cfg.x}.pid").write_text(str(os.getpid()))
    time.sleep(120)
    return float(cfg.x)


@env.task
def counts(cfg: DictConfig, data: dict[str, int]) -> int:
    """A task input that is a mapping: the cluster driver carries its inputs as JSON."""
    return len(data)
