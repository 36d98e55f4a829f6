"""Tasks that leave in every way but returning or raising an exception; each fails only for x=2."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import flyte
from omegaconf import DictConfig

env = flyte.TaskEnvironment(name="test_exits")


@env.task
def exits_on_two(cfg: DictConfig) -> float:
    """Leaves by `sys.exit` for x=2, the way a script-turned-task often gives up."""
    if int(cfg.x) == 2:
        sys.exit(3)
    return float(cfg.x)


@env.task
async def async_exits_on_two(cfg: DictConfig) -> float:
    if int(cfg.x) == 2:
        sys.exit("giving up")
    return float(cfg.x)


@env.task
def interrupts_on_two(cfg: DictConfig) -> float:
    """Raises `KeyboardInterrupt` itself for x=2 (as code wrapping a CLI tool may), with no Ctrl-C pressed."""
    if int(cfg.x) == 2:
        raise KeyboardInterrupt
    return float(cfg.x)


@env.task
def worker_dies_on_two(cfg: DictConfig) -> float:
    """Hands work to a process it starts; for x=2 that process dies with `os._exit`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        if int(cfg.x) == 2:
            pool.submit(os._exit, 9).result()
        return float(pool.submit(float, cfg.x).result())


@env.task
async def calls_exiting_child(cfg: DictConfig) -> float:
    """A parent task whose child task leaves by `sys.exit`."""
    return await exits_on_two.aio(cfg)


def _wait_for(path: Path, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.02)


@env.task
def exits_beside_sibling(cfg: DictConfig) -> float:
    """x=2 leaves by `sys.exit` while x=1 is still running; x=1 finishes only after that exit."""
    signals = Path(cfg.signals)
    if int(cfg.x) == 2:
        _wait_for(signals / "1-running")
        (signals / "2-exiting").write_text("")
        sys.exit(4)
    (signals / "1-running").write_text("")
    _wait_for(signals / "2-exiting")
    return float(cfg.x)


class Escape(BaseException):
    """A `BaseException` of the user's own, as some libraries define for control flow."""


@env.task
def escapes_on_two(cfg: DictConfig) -> float:
    if int(cfg.x) == 2:
        raise Escape("out of here")
    return float(cfg.x)
