"""`async` tasks that block their thread (as `time.sleep` or a CPU-bound step does) instead of awaiting."""

from __future__ import annotations

import time
from pathlib import Path

import flyte
from omegaconf import DictConfig

env = flyte.TaskEnvironment(name="test_blocking")


def _block_until(*paths: Path, timeout: float = 20) -> None:
    """Blocks the calling thread, never yielding to its event loop, until every path exists."""
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still missing after {timeout}s: {[str(p) for p in paths if not p.exists()]}")
        time.sleep(0.02)


@env.task
async def blocking_child(cfg: DictConfig) -> float:
    signals = Path(cfg.signals)
    (signals / f"arrived-{cfg.x}").write_text("")
    _block_until(*(signals / f"arrived-{x}" for x in cfg.everyone))
    return float(cfg.x)


@env.task
async def meet_everyone(cfg: DictConfig) -> float:
    """Every job announces itself, then blocks until all jobs have: only jobs running at once can finish."""
    return await blocking_child(cfg)


@env.task
async def blocks_until_others_finish(cfg: DictConfig) -> float:
    """x=1 blocks until the other jobs are done; they say so as their last act."""
    signals = Path(cfg.signals)
    if int(cfg.x) == 1:
        _block_until(*(signals / f"done-{x}" for x in cfg.others))
    else:
        (signals / f"done-{cfg.x}").write_text("")
    return float(cfg.x)


@env.task
def meet_everyone_in_a_plain_task(cfg: DictConfig) -> float:
    """`meet_everyone` as a plain `def` task, which flyte runs on a thread of its own."""
    signals = Path(cfg.signals)
    (signals / f"arrived-{cfg.x}").write_text("")
    _block_until(*(signals / f"arrived-{x}" for x in cfg.everyone))
    return float(cfg.x)
