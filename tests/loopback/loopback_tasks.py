"""Tasks the loopback tests submit as remote runs.

They live at module level in an importable module because the server executes them in a fresh
subprocess, which imports this module from the uploaded code bundle. The environment keeps the
default image (`"auto"`), which the loopback config maps to a fixed URI, so nothing is built.
"""

import asyncio

import flyte

env = flyte.TaskEnvironment(name="loopback-tests", resources=flyte.Resources(cpu=1, memory="500Mi"))


@env.task
async def add(x: int, y: int) -> int:
    return x + y


@env.task
async def fail(reason: str) -> int:
    raise ValueError(f"task failed on purpose: {reason}")


@env.task
async def sleep_then_greet(seconds: float, name: str) -> str:
    await asyncio.sleep(seconds)
    return f"hello {name}"
