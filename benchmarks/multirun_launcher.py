"""Benchmark 2: ms per job of `@hydra.main --multirun` with `hydra/launcher=flyte`, at 200 and 2,000 jobs.

Each sweep runs tests/apps/hydra_app.py (a trivial task run locally) in a fresh interpreter. The
per-job figure at N is the marginal cost between two sweep sizes, which cancels interpreter start-up:
(t(200) - t(20)) / 180 and (t(2000) - t(200)) / 1800; flat means the two agree. Wall and CPU time
are both shown (CPU is what the machine's other users cannot inflate). The floor is a bare `flyte.run`
loop over the same app config, measured in this run, in its own interpreter. RSS growth per job is
(peak(2000) - peak(200)) / 1800.

The last rows time one part of a launcher job on its own, in a fresh interpreter: its two logging
changes (the job's `job_logging`, then `hydra_logging` again), made by Hydra's `configure_log` as
Hydra's launchers do, and as the launcher makes them (replayed after the first; `_log_replay.py`).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time

from _common import HERE, TESTS, table

SIZES = (20, 200, 2000)
FLOOR_JOBS = (20, 220)

FLOOR = """
import sys, time, logging
sys.path.insert(0, {tests!r})
import flyte
from omegaconf import OmegaConf
from apps import tasks
logging.disable(logging.WARNING)
cfg = OmegaConf.create({{"x": 1, "name": "base", "nested": {{"a": 1, "b": "two"}}}})
def loop(n):
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        flyte.with_runcontext(mode="local").run(tasks.trivial, cfg=cfg)
    return time.perf_counter() - start, time.process_time() - cpu
loop(5)
(w1, c1), (w2, c2) = loop({small}), loop({large})
print((w2 - w1) / {span} * 1000, (c2 - c1) / {span} * 1000)
"""

LOGGING = """
import logging, pathlib, sys, tempfile, time
import flyte  # the loggers a launch has
import hydra
from hydra.core.utils import configure_log
from omegaconf import OmegaConf
from flyteplugins.hydra._log_replay import LogReplay
conf = pathlib.Path(hydra.__file__).parent / "conf" / "hydra"
job = OmegaConf.load(conf / "job_logging" / "default.yaml")
launcher = OmegaConf.load(conf / "hydra_logging" / "default.yaml")
folder = tempfile.mkdtemp()
job.handlers.file.filename = f"{{folder}}/0.log"
plain_job, plain_launcher = OmegaConf.to_container(job), OmegaConf.to_container(launcher)
def job_conf(i):
    job.handlers.file.filename = name = f"{{folder}}/{{i}}.log"
    file = {{**plain_job["handlers"]["file"], "filename": name}}
    return {{**plain_job, "handlers": {{**plain_job["handlers"], "file": file}}}}
def hydra_way(i):
    job_conf(i)
    configure_log(job, False)
    configure_log(launcher, False)
replay = LogReplay()
def replayed(i):
    replay.apply(job_conf(i), False, lambda: configure_log(job, False))
    replay.apply(plain_launcher, False, lambda: configure_log(launcher, False))
def per_job(fn):
    for i in range(20):
        fn(i)
    cpu = time.process_time()
    for i in range({jobs}):
        fn(i)
    return (time.process_time() - cpu) / {jobs} * 1000
print(per_job(hydra_way), per_job(replayed), replay.replays, file=sys.stderr)
"""


def logging_ms() -> tuple[float, float]:
    """CPU ms per job of a launcher job's two logging changes: Hydra's `configure_log` each time, then replayed."""
    proc = subprocess.run([sys.executable, "-c", LOGGING.format(jobs=1000)], check=True, capture_output=True, text=True)
    hydra_ms, replay_ms, _ = proc.stderr.split()[-3:]
    return float(hydra_ms), float(replay_ms)


def run(launcher: list[str], jobs: int) -> dict[str, float]:
    """One sweep in a fresh interpreter: wall seconds, CPU seconds and peak RSS (KB)."""
    with tempfile.TemporaryDirectory() as sweep_dir:
        out = os.path.join(sweep_dir, "measure.json")
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(HERE / "_measured.py"),
                str(TESTS / "apps" / "hydra_app.py"),
                "--multirun",
                *launcher,
                "+task=trivial",
                f"x=range(0,{jobs})",
                f"hydra.sweep.dir={sweep_dir}/sweep",
            ],
            check=True,
            capture_output=True,
            cwd=sweep_dir,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH")) if p),
                "CI": "1",
                "BENCH_MEASURE_OUT": out,
            },
        )
        wall = time.perf_counter() - start
        with open(out) as f:
            measured = json.load(f)
    return {"wall": wall, "cpu": measured["cpu_s"], "peak_kb": measured["peak_kb"]}


def floor_ms() -> tuple[float, float]:
    small, large = FLOOR_JOBS
    code = FLOOR.format(tests=str(TESTS), small=small, large=large, span=large - small)
    proc = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env={**os.environ, "CI": "1"}
    )
    wall, cpu = proc.stdout.split()[-2:]
    return float(wall), float(cpu)


def marginal(runs: dict[int, dict[str, float]], key: str, lo: int, hi: int) -> float:
    return (runs[hi][key] - runs[lo][key]) / (hi - lo) * 1000


def main() -> str:
    floor_wall, floor_cpu = floor_ms()
    flyte = {n: run(["hydra/launcher=flyte", "hydra.launcher.mode=local"], n) for n in SIZES}
    rows = [["bare flyte.run loop (floor)", "-", f"{floor_wall:.1f}", f"{floor_cpu:.1f}", "1.0", "-"]]
    for lo, hi in itertools.pairwise(SIZES):
        wall, cpu = marginal(flyte, "wall", lo, hi), marginal(flyte, "cpu", lo, hi)
        rows.append(
            [
                "hydra/launcher=flyte (mode=local)",
                f"{lo}->{hi}",
                f"{wall:.1f}",
                f"{cpu:.1f}",
                f"{wall / floor_wall:.1f} / {cpu / floor_cpu:.1f}",
                "<= 3x floor, flat within 20%",
            ]
        )
    growth = (flyte[SIZES[-1]]["peak_kb"] - flyte[SIZES[1]]["peak_kb"]) / (SIZES[-1] - SIZES[1])
    rows.append(
        [
            "peak RSS",
            f"{SIZES[1]}->{SIZES[-1]}",
            f"{flyte[SIZES[1]]['peak_kb'] / 1024:.0f} -> {flyte[SIZES[-1]]['peak_kb'] / 1024:.0f} MB",
            f"{growth:.1f} KB/job",
            "-",
            "<= 20 KB/job",
        ]
    )
    basic = {n: run([], n) for n in SIZES[:2]}
    rows.append(
        [
            "Hydra's basic launcher, same app",
            f"{SIZES[0]}->{SIZES[1]}",
            f"{marginal(basic, 'wall', *SIZES[:2]):.1f}",
            f"{marginal(basic, 'cpu', *SIZES[:2]):.1f}",
            "-",
            "-",
        ]
    )
    hydra_ms, replay_ms = logging_ms()
    rows.append(["a job's two logging changes, Hydra's configure_log", "1000", "-", f"{hydra_ms:.2f}", "-", "-"])
    rows.append(["the same, replayed (what the launcher does)", "1000", "-", f"{replay_ms:.2f}", "-", "-"])
    return table(
        "@hydra.main --multirun, marginal ms per job",
        ["path", "jobs", "wall ms/job", "CPU ms/job", "x floor (wall / CPU)", "target"],
        rows,
    )


if __name__ == "__main__":
    print(main())
