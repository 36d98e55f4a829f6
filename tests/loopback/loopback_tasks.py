"""Tasks the loopback tests submit as remote runs.

They live at module level in an importable module because the server executes them in a fresh
subprocess, which imports this module from the uploaded code bundle. The environment keeps the
default image (`"auto"`), which the loopback config maps to a fixed URI, so nothing is built.
"""

import asyncio
import os
import time
from pathlib import Path

import flyte
from kubernetes.client import V1Container, V1EnvVar, V1PodSpec

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


@env.task
def rendezvous(folder: str, parties: int, timeout: float) -> int:
    """Check in under `folder` and wait until `parties` runs have: only concurrent runs can all meet."""
    here = Path(folder)
    (here / f"{os.getpid()}.arrived").touch()
    deadline = time.monotonic() + timeout
    while len(list(here.glob("*.arrived"))) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(here.glob('*.arrived')))} of {parties} runs arrived")
        time.sleep(0.05)
    return parties


@env.task
def record_pid_and_wait(pid_file: str) -> None:
    """Write this process's pid where the test can see it, then wait to be aborted."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)


pod_env = flyte.TaskEnvironment(
    name="loopback-pod-template",
    pod_template=flyte.PodTemplate(
        primary_container_name="primary",
        labels={"team": "loopback"},
        pod_spec=V1PodSpec(containers=[V1Container(name="primary", env=[V1EnvVar(name="GREETING", value="hi")])]),
    ),
)


@pod_env.task
async def greeting_from_pod_env() -> str:
    """Read an env var that only the pod template sets, proving the pod spec's container ran."""
    return os.environ["GREETING"]


@env.task
async def add_twice(x: int, y: int) -> int:
    """Call `add` as two child actions: needs a server started with nested tasks enabled."""
    once = await add(x, y)
    return await add(once, once)


@env.task
async def call_failing_child(reason: str) -> int:
    return await fail(reason)
