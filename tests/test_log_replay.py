"""The launcher's replayed logging leaves every logger as Hydra's own `configure_log` does, job after job.

`apps/log_probe.py` runs the same sweeps (4 jobs each, one after the other in one process) twice:
once with every logging change of the launcher made by Hydra's `configure_log`, as before the
replay existed, and once as the launcher does it now. It records the state of every logger after
each change and inside each task; the two runs must agree on all of it, and on every job's log files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import APPS

from flyteplugins.hydra._log_replay import familiar

CASES = {
    "default": [],
    "disabled": ["hydra/job_logging=disabled"],
    "none": ["hydra/job_logging=none"],
    "several": ["hydra/job_logging=several"],
    "verbose": ["hydra.verbose=true"],
    "verbose_main": ["hydra.verbose=[__main__,probe.detail]"],
    "stdout_only": ["hydra/job_logging=stdout"],
    "rotating": ["hydra/job_logging=rotating"],
    "hydra_debug": ["hydra/hydra_logging=hydra_debug"],
    "launcher_logger": ["hydra/hydra_logging=named"],
    "flyte_init": ["+flyte_init=true"],
    "tamper": ["+tamper=some"],
    "default_again": [],
    "tamper_kept": ["+tamper=kept"],
    "swap_stdout": ["+swap_stdout=true"],
    "group_sweep": ["+flavor=a,b"],  # a config group swept: jobs composed in full
    "level_sweep": ["hydra/job_logging=leveled", "level=INFO,WARNING"],  # more than the log file differs
}
JOBS = {"group_sweep": 8, "level_sweep": 8}  # the others: x=0,1,2,3

DEFAULT_JOB_LOGGING = {
    "version": 1,
    "formatters": {"simple": {"format": "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "simple", "stream": "ext://sys.stdout"},
        "file": {"class": "logging.FileHandler", "formatter": "simple", "filename": "/tmp/x/app.log"},
    },
    "root": {"level": "INFO", "handlers": ["console", "file"]},
    "disable_existing_loggers": False,
}


# The two probe runs take 20-40 s together on an idle machine; a worker that waits for another's runs
# waits at most their own timeout (`_PROBE_TIMEOUT`), so the module's tests may take that long.
_PROBE_TIMEOUT = 240
pytestmark = pytest.mark.timeout(_PROBE_TIMEOUT + 60)


def _start_probe(root: Path, mode: str) -> tuple[subprocess.Popen, Path]:
    out = root / f"{mode}.json"
    (root / mode).mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(APPS.parent),
        "CI": "1",
        "LOG_PROBE_MODE": mode,
        "LOG_PROBE_ROOT": str(root / mode),
        "LOG_PROBE_OUT": str(out),
        "LOG_PROBE_CASES": json.dumps(CASES),
    }
    proc = subprocess.Popen(
        [sys.executable, str(APPS / "log_probe.py")],
        cwd=root / mode,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out


def _probes(root: Path) -> list[dict]:
    """Both runs, side by side."""
    started = [_start_probe(root, mode) for mode in ("hydra", "replay")]
    errors = []
    try:
        for proc, _ in started:
            errors.append(proc.communicate(timeout=_PROBE_TIMEOUT)[1])
    finally:
        for proc, _ in started:
            proc.kill()
            proc.communicate()
    for (proc, _), stderr in zip(started, errors, strict=True):
        assert proc.returncode == 0, stderr[-3000:]
    return [json.loads(out.read_text()) for _, out in started]


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """Both runs, made once for all pytest-xdist workers (the first to take the lock makes them)."""
    import fcntl

    shared = tmp_path_factory.getbasetemp().parent / "log_replay"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done, failed = shared / "probes.json", shared / "failed.txt"
        if failed.exists():
            pytest.fail(f"the probe runs failed in another worker: {failed.read_text()}")
        if not done.exists():
            try:
                done.write_text(json.dumps(_probes(shared)))
            except BaseException as e:
                failed.write_text(str(e)[-3000:])
                raise
        hydra, replay = json.loads(done.read_text())
    return hydra, replay


def _cases(run: dict) -> dict[str, list[tuple[dict, bool | None]]]:
    """The run's records, by case, each with whether the launcher replayed it."""
    cases: dict[str, list[tuple[dict, bool | None]]] = {}
    current: list[tuple[dict, bool | None]] = []
    for record, replayed in zip(run["records"], run["replayed"], strict=True):
        if record["when"].startswith("case "):
            current = cases[record["when"].removeprefix("case ")] = []
        else:
            current.append((record, replayed))
    return cases


def _first_difference(a: object, b: object, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}/{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: Hydra's configure_log left {a!r}, the replay {b!r}"


@pytest.mark.parametrize("case", CASES)
def test_every_logger_is_as_hydra_leaves_it_after_each_change_and_in_each_task(probes, case):
    hydra, replay = (_cases(run)[case] for run in probes)
    jobs = JOBS.get(case, 4)
    assert len(hydra) == len(replay) == 1 + jobs * 3  # the launch's hydra_logging; per job: job_logging, task, back
    for n, ((expected, _), (got, _)) in enumerate(zip(hydra, replay)):
        assert got == expected, f"record {n} ({expected['when']}): {_first_difference(expected, got)}"


@pytest.mark.parametrize("case", CASES)
def test_every_job_log_file_is_as_hydra_writes_it(probes, case):
    hydra, replay = (run["logs"][case] for run in probes)
    assert replay == hydra


def test_each_job_log_has_exactly_its_own_lines(probes):
    _, replay = probes
    logs = replay["logs"]["default"]
    assert sorted(logs) == [f"default/{x}/log_probe.log" for x in range(4)]
    for name, text in logs.items():
        x = name.split("/")[1]
        assert text.splitlines() == [
            f"[time][__main__][INFO] - job {x}: a line of its own",
            f"[time][user.job{x}][WARNING] - job {x}: from a logger the task made",
            f"[time][probe.muted][WARNING] - job {x}: muted",
            f"[time][probe.launcher.child][INFO] - job {x}: a child of a launcher logger",
            f"[time][__main__][INFO] - job {x}: done",
        ]
    several = replay["logs"]["several"]
    detail = [several[f"several/{x}/debug.log"] for x in range(4)]
    assert detail == [f"DEBUG probe.detail: job {x}: detail\n" for x in range(4)]


def _changes(run: dict, case: str) -> list[bool | None]:
    return [replayed for record, replayed in _cases(run)[case] if record["when"] == "applied"]


def test_consecutive_jobs_with_only_a_new_log_file_are_replayed(probes):
    _, replay = probes
    # The first sweep: Hydra's configure_log for the launch's hydra_logging and the first job's job_logging.
    assert _changes(replay, "default") == [False, False, True, True, True, True, True, True, True]
    # Each launch has a launcher of its own: after all the other sweeps, the same two real changes first.
    assert _changes(replay, "default_again") == [False, False, True, True, True, True, True, True, True]
    assert all(_changes(replay, "flyte_init")[2:])  # flyte's init wraps the root handlers' formatters every job


def test_unfamiliar_handlers_go_through_hydra_every_time(probes):
    _, replay = probes
    job_logging = _changes(replay, "rotating")[1::2]
    assert job_logging == [False] * 4


def test_a_task_that_changes_a_kept_handler_or_formatter_sends_the_next_change_through_hydra(probes):
    _, replay = probes
    changes = _changes(replay, "tamper_kept")
    assert changes[2::2] == [False] * 4  # each hydra_logging after a task that tampered
    assert any(_changes(replay, "tamper"))  # handlers the task added or removed: a replay deals with them


def test_job_logging_that_differs_in_more_than_the_log_file_is_kept_per_config(probes):
    _, replay = probes
    # The levels alternate from job to job: each level's first job goes through Hydra, then both replay.
    assert _changes(replay, "level_sweep")[1::2] == [False, False, True, True, True, True, True, True]


def test_jobs_composed_in_full_are_replayed_too(probes):
    _, replay = probes
    assert _changes(replay, "group_sweep")[1::2] == [False, True, True, True, True, True, True, True]


def test_a_replaced_sys_stdout_sends_the_next_change_through_hydra(probes):
    _, replay = probes
    changes = _changes(replay, "swap_stdout")
    assert changes[4] is False  # the hydra_logging after job 1, which replaced sys.stdout


@pytest.mark.parametrize(
    "change",
    [
        {"filters": {"f": {"name": "x"}}},
        {"incremental": True},
        {"handlers": {"h": {"class": "logging.handlers.MemoryHandler", "capacity": 10}}},
        {"handlers": {"h": {"()": "logging.StreamHandler"}}},
        {"handlers": {"h": {"class": "logging.StreamHandler", "stream": "ext://io.StringIO"}}},
        {"handlers": {"h": {"class": "logging.StreamHandler", "filters": ["f"]}}},
        {"formatters": {"simple": {"()": "logging.Formatter"}}},
        {"formatters": {"simple": {"class": "colorlog.ColoredFormatter"}}},
        {"root": {"level": "INFO", "handlers": ["console"], "filters": ["f"]}},
        {"root": None},
        {"loggers": {"x": {"handlers": ["cfg://handlers.console"]}}},
    ],
    ids=lambda change: json.dumps(change)[:60],
)
def test_what_a_replay_does_not_know_is_left_to_hydra(change):
    assert familiar(DEFAULT_JOB_LOGGING)
    assert not familiar({**DEFAULT_JOB_LOGGING, **change})
