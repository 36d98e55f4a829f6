"""Small Flyte tasks the tests launch; module-level so local and remote runs can import them."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import flyte
from omegaconf import DictConfig, OmegaConf

env = flyte.TaskEnvironment(name="test_apps")


@env.task
async def dump(cfg: DictConfig) -> str:
    """The composed config as JSON, so tests can read exactly what the task received."""
    return json.dumps(OmegaConf.to_container(cfg, resolve=True), sort_keys=True)


@env.task
async def scaled(config: DictConfig, scale: int = 2) -> float:
    """Config parameter named `config` and an extra input with a default."""
    return float(config.x) * scale


@env.task
async def pair(cfg: DictConfig) -> tuple[int, str]:
    return int(cfg.x), str(cfg.name)


@env.task
async def fails_on_two(cfg: DictConfig) -> float:
    if int(cfg.x) == 2:
        raise ValueError(f"x={cfg.x} is not allowed")
    return float(cfg.x)


@env.task
def touch_marker(cfg: DictConfig, marker: str) -> str:
    """Leaves a file behind, so a test can prove whether any job ran."""
    Path(marker).write_text("ran")
    return marker


@env.task
def objective(cfg: DictConfig) -> float:
    """A smooth objective over `x` (best at 0.3); records each evaluation when `log` is set."""
    value = round((float(cfg.x) - 0.3) ** 2, 8)
    if cfg.get("log"):
        with open(cfg.log, "a") as f:
            f.write(f"{value}\n")
    return value


@env.task
async def fails_above_ten(cfg: DictConfig) -> float:
    """Fails the same way for every x above 10 (and another way above 20): errors a summary groups."""
    if int(cfg.x) > 20:
        raise RuntimeError("x is far too large")
    if int(cfg.x) > 10:
        raise ValueError("x is too large")
    return float(cfg.x)


@env.task
async def lingers(cfg: DictConfig) -> float:
    """Still running long after a test looks at it, unless aborted."""
    await asyncio.sleep(float(cfg.get("seconds", 120)))
    return float(cfg.x)


@env.task
async def where_am_i(cfg: DictConfig) -> str:
    return os.environ.get("FLYTE_INTERNAL_EXECUTION_PROJECT", "in-process")


async def not_a_task(cfg: DictConfig) -> str:
    return "plain function"


@env.task
async def no_config(x: int) -> int:
    return x


def _inline_template() -> flyte.PodTemplate:
    from kubernetes.client import V1Container, V1PodSpec, V1Toleration

    return flyte.PodTemplate(
        primary_container_name="trainer",
        pod_spec=V1PodSpec(
            containers=[V1Container(name="trainer", image="old:1", args=["--x"]), V1Container(name="sidecar")],
            tolerations=[V1Toleration(key="gpu", operator="Exists")],
        ),
        labels={"team": "ml"},
    )


templated_env = flyte.TaskEnvironment(name="templated", pod_template=_inline_template())
named_env = flyte.TaskEnvironment(name="named", pod_template="cluster-gpu-template")


@templated_env.task
async def with_inline_template(cfg: DictConfig) -> str:
    return "inline"


@named_env.task
async def with_named_template(cfg: DictConfig) -> str:
    return "named"


@env.task
def timed(cfg: DictConfig) -> float:
    """Sleeps `cfg.sleep` seconds and records when it ran, so tests can count overlapping jobs."""
    import time

    start = time.time()
    time.sleep(float(cfg.get("sleep", 0.5)))
    with open(cfg.log, "a") as f:
        f.write(f"{cfg.x} {start} {time.time()}\n")
    return float(cfg.x)


@env.task
def flaky(cfg: DictConfig) -> float:
    """Fails for x=2 while the file `cfg.poison` exists: a failure the user can fix, then rerun."""
    with open(cfg.log, "a") as f:
        f.write(f"{cfg.x}\n")
    if int(cfg.x) == 2 and Path(cfg.poison).exists():
        raise RuntimeError("poisoned")
    return float(cfg.x)


@env.task
def trivial(cfg: DictConfig) -> int:
    """Does nothing, so benchmarks measure launching rather than work."""
    return 1


@env.task
def probe(cfg: DictConfig) -> float:
    """Records each run (x, run name, start, end) in `$PROBE_LOG`, then fails if `cfg.fail` says so.

    The option-by-path tests read that log to see which jobs ran, under which names, how many at once.
    """
    import time

    start = time.time()
    time.sleep(float(cfg.get("sleep", 0)))
    action = flyte.ctx().action
    record = {"x": cfg.x, "run": getattr(action, "run_name", None) or action.name, "start": start, "end": time.time()}
    with open(os.environ["PROBE_LOG"], "a") as f:
        f.write(json.dumps(record) + "\n")
    if cfg.get("fail") is True or cfg.get("fail") == cfg.x:
        raise ValueError(f"probe told to fail at x={cfg.x}")
    return float(cfg.x)


@env.task
def logs(cfg: DictConfig) -> float:
    """Logs one INFO and one DEBUG line naming `x`, so tests can read them in the job's Hydra log."""
    import logging

    log = logging.getLogger("apps.tasks")
    log.info("info line for x=%s", cfg.x)
    log.debug("debug line for x=%s", cfg.x)
    return float(cfg.x)


@env.task
def hydra_view(cfg: DictConfig) -> str:
    """What Hydra says about the current job, read inside the task (local runs share the process)."""
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.get()
    seen = {"num": hydra.job.num, "subdir": hydra.sweep.subdir, "output_dir": hydra.runtime.output_dir}
    return json.dumps(seen | {"cfg": OmegaConf.to_container(cfg, resolve=True)}, sort_keys=True)


@env.task
def fails_or_sleeps(cfg: DictConfig) -> float:
    """Fails at once for x=2, sleeps `cfg.sleep` seconds otherwise: fail_fast has a run to stop."""
    import time

    if int(cfg.x) == 2:
        raise ValueError(f"x={cfg.x} is not allowed")
    time.sleep(float(cfg.get("sleep", 60)))
    return float(cfg.x)
