"""Running, watching, stopping and resuming sweeps: caps, parallel local jobs, journal, dry run, Ctrl-C, reruns."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apps import tasks
from conftest import APPS, ROOT, peak_concurrency, run_script

from flyteplugins.hydra import ConfigurationError, SweepFailedError, hydra_run, hydra_sweep
from flyteplugins.hydra._journal import JOURNAL_NAME, read_journal

CONF = str(APPS / "conf")


def most_overlapping(log: Path) -> int:
    """The largest number of jobs that were running at the same moment."""
    return peak_concurrency(tuple(map(float, line.split()[1:])) for line in log.read_text().splitlines())


def latest(sweep_dir: Path) -> dict[int, dict]:
    return read_journal(sweep_dir).jobs


def test_local_jobs_run_one_at_a_time_by_default(tmp_path):
    log = tmp_path / "spans"
    hydra_sweep(
        tasks.timed,
        config_path=CONF,
        config_name="app",
        mode="local",
        overrides=["x=1,2,3", f"+log={log}", "+sleep=0.2", f"hydra.sweep.dir={tmp_path / 's'}"],
    )
    assert most_overlapping(log) == 1


def test_max_parallel_runs_local_jobs_concurrently_up_to_the_cap(tmp_path):
    log = tmp_path / "spans"
    results = hydra_sweep(
        tasks.timed,
        config_path=CONF,
        config_name="app",
        mode="local",
        max_parallel=3,
        overrides=["x=range(1,7)", f"+log={log}", "+sleep=0.6", f"hydra.sweep.dir={tmp_path / 's'}"],
    )
    assert [r.value for r in results] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert 2 <= most_overlapping(log) <= 3


def test_max_parallel_caps_remote_runs_in_flight(flyte_loopback, tmp_path):
    log = tmp_path / "spans"
    results = hydra_sweep(
        tasks.timed,
        config_path=CONF,
        config_name="app",
        mode="remote",
        max_parallel=2,
        overrides=["x=1,2,3", f"+log={log}", "+sleep=1", f"hydra.sweep.dir={tmp_path / 's'}"],
    )
    assert [r.value for r in results] == [1.0, 2.0, 3.0]
    assert most_overlapping(log) <= 2


def test_journal_records_every_job_with_url_phase_and_result(tmp_path):
    sweep = tmp_path / "sweep"
    with pytest.raises(SweepFailedError):
        hydra_sweep(
            tasks.fails_on_two,
            config_path=CONF,
            config_name="app",
            mode="local",
            overrides=["x=1,2,3", f"hydra.sweep.dir={sweep}"],
        )
    jobs = latest(sweep)
    assert {n: j["phase"] for n, j in jobs.items()} == {0: "SUCCEEDED", 1: "FAILED", 2: "SUCCEEDED"}
    assert jobs[0]["result"] == 1.0 and jobs[0]["url"] and jobs[0]["overrides"] == ["x=1"]
    assert "x=2 is not allowed" in jobs[1]["error"]
    first_lines = [json.loads(line) for line in (sweep / JOURNAL_NAME).read_text().splitlines()[:4]]
    assert "sweep" in first_lines[0] and [r["phase"] for r in first_lines[1:]] == ["PENDING"] * 3


def test_journal_tolerates_a_line_cut_by_a_crash(tmp_path):
    sweep = tmp_path / "sweep"
    hydra_sweep(
        tasks.scaled, config_path=CONF, config_name="app", mode="local", overrides=["x=1,2", f"hydra.sweep.dir={sweep}"]
    )
    with open(sweep / JOURNAL_NAME, "a") as f:
        f.write('{"num": 1, "phase": "FAI')
    assert latest(sweep)[1]["phase"] == "SUCCEEDED"


def _finished_sweep(tmp_path: Path) -> Path:
    sweep = tmp_path / "sweep"
    hydra_sweep(
        tasks.scaled, config_path=CONF, config_name="app", mode="local", overrides=["x=1,2", f"hydra.sweep.dir={sweep}"]
    )
    return sweep


def _corrupt_line_two(sweep: Path, line: bytes) -> bytes:
    journal = sweep / JOURNAL_NAME
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[1] = line + b"\n"
    journal.write_bytes(b"".join(lines))
    return journal.read_bytes()


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b'{"num": 0, "ph\xff\xfe\x00ase": 1}', r"it is not UTF-8 text \(byte 15 is b'\\xff'\)"),
        (
            b'{"num": "zero", "overrides": [], "phase": "FAILED"}',
            r"'num' must be a job number \(0, 1, \.\.\.\), got 'zero'",
        ),
        (b'{"num": 0, "overrides": "x=1", "phase": "FAILED"}', r"'overrides' must be a list of strings, got 'x=1'"),
        (b'{"num": 0, "overrides": [], "phase": "FAILED", "started": "noon"}', r"'started' must be a time"),
        (b'{"num": 0, "overrides": [], "phase": "FAI', r"it is not JSON \(Unterminated string"),
        (b"[1, 2]", r"it is a JSON list, not an object"),
        (b'{"hello": 1}', r"it has neither 'num'"),
        (b'{"sweep": {"overrides": "x=1,2"}}', r"the sweep's 'overrides' must be a list of strings, got 'x=1,2'"),
    ],
)
def test_rerun_of_a_corrupt_journal_names_the_file_and_line_and_runs_nothing(tmp_path, line, why):
    sweep = _finished_sweep(tmp_path)
    before = _corrupt_line_two(sweep, line)
    journal = re.escape(str(sweep / JOURNAL_NAME))
    with pytest.raises(ConfigurationError, match=rf"^{journal} line 2 is not a journal record: {why}"):
        hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", mode="local", rerun_failed=sweep)
    assert (sweep / JOURNAL_NAME).read_bytes() == before


def test_rerun_after_a_torn_last_line_appends_on_a_clean_line(tmp_path):
    sweep, poison = tmp_path / "sweep", tmp_path / "poison"
    poison.touch()
    overrides = ["x=1,2", f"+log={tmp_path / 'calls'}", f"+poison={poison}", f"hydra.sweep.dir={sweep}"]
    with pytest.raises(SweepFailedError):
        hydra_sweep(tasks.flaky, config_path=CONF, config_name="app", mode="local", overrides=overrides)
    journal = sweep / JOURNAL_NAME
    with open(journal, "ab") as f:
        f.write(b'{"num": 1, "phase": "SUCC\xe2\x82')  # cut inside a multi-byte character, too
    assert latest(sweep)[1]["phase"] == "FAILED"
    poison.unlink()
    results = hydra_sweep(tasks.flaky, config_path=CONF, config_name="app", mode="local", rerun_failed=sweep)
    assert [r.value for r in results] == [2.0]
    assert latest(sweep)[1]["phase"] == "SUCCEEDED"
    assert all(json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines())


def test_dry_run_lists_jobs_with_lowered_task_env_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "ran"
    outcomes = hydra_sweep(
        tasks.touch_marker,
        config_path=CONF,
        config_name="app",
        mode="remote",
        dry_run=True,
        marker=str(marker),
        overrides=[
            "x=1,2",
            "+task_env.touch_marker.resources.cpu='2'",
            "+task_env.touch_marker.image=img:1",
            f"hydra.sweep.dir={tmp_path / 's'}",
        ],
    )
    out = capsys.readouterr().out
    assert not marker.exists() and not (tmp_path / "s").exists()
    assert outcomes == [None, None]
    assert "Dry run: 2 job(s) would run in remote mode; nothing was submitted." in out
    assert "job #0 [x=1 +task_env" in out and "job #1 [x=2 +task_env" in out
    assert "Resources(cpu='2'" in out and "img:1 (container 'primary')" in out


def test_dry_run_through_the_launcher(tmp_path):
    marker = tmp_path / "ran"
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.dry_run=true",
        "+task=touch_marker",
        f"+marker={marker}",
        "x=1,2,3",
        "+task_env.touch_marker.retries=2",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Dry run: 3 job(s) would run in remote mode" in proc.stdout
    assert "task_env: {'touch_marker': {'retries': 2}}" in proc.stdout
    assert not marker.exists()


def test_fail_fast_starts_nothing_after_the_first_failure(tmp_path):
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(
            tasks.fails_on_two,
            config_path=CONF,
            config_name="app",
            mode="local",
            fail_fast=True,
            overrides=["x=1,2,3,4", f"hydra.sweep.dir={tmp_path / 's'}"],
        )
    assert [o.phase for o in info.value.outcomes] == ["SUCCEEDED", "FAILED", "CANCELLED", "CANCELLED"]


def test_rerun_failed_runs_only_unfinished_jobs_and_updates_the_journal(tmp_path):
    sweep, log, poison = tmp_path / "sweep", tmp_path / "calls", tmp_path / "poison"
    poison.touch()
    overrides = ["x=1,2,3", f"+log={log}", f"+poison={poison}", f"hydra.sweep.dir={sweep}"]
    with pytest.raises(SweepFailedError):
        hydra_sweep(tasks.flaky, config_path=CONF, config_name="app", mode="local", overrides=overrides)
    poison.unlink()
    log.unlink()
    results = hydra_sweep(tasks.flaky, config_path=CONF, config_name="app", mode="local", rerun_failed=sweep)
    assert [r.value for r in results] == [2.0]
    assert log.read_text().split() == ["2"]
    assert {n: j["phase"] for n, j in latest(sweep).items()} == {0: "SUCCEEDED", 1: "SUCCEEDED", 2: "SUCCEEDED"}


def test_rerun_failed_needs_a_journal(tmp_path):
    with pytest.raises(ConfigurationError, match=r"rerun_failed=.*there is no flyte_runs.jsonl"):
        hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", mode="local", rerun_failed=tmp_path)


def test_rerun_failed_through_the_launcher(tmp_path):
    sweep, log, poison = tmp_path / "sweep", tmp_path / "calls", tmp_path / "poison"
    poison.touch()
    args = [
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=local",
        "+task=flaky",
        "x=1,2,3",
        f"+log={log}",
        f"+poison={poison}",
    ]
    first = run_script(APPS / "hydra_app.py", *args, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert first.returncode != 0
    poison.unlink()
    log.unlink()
    again = run_script(
        APPS / "hydra_app.py",
        *args,
        f"hydra.launcher.rerun_failed={sweep}",
        f"hydra.sweep.dir={tmp_path / 'second'}",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert log.read_text().split() == ["2"]
    assert all(j["phase"] == "SUCCEEDED" for j in latest(sweep).values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_parallel": 0}, "max_parallel must be a positive number or null"),
        ({"max_parallel": 2, "wait": False}, "max_parallel needs waiting"),
        ({"wait_max_workers": -1}, "wait_max_workers must be a positive number or null"),
    ],
)
def test_bad_sweep_settings_are_rejected_before_anything_runs(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", overrides=["x=1,2"], **kwargs)


def test_rerun_and_dry_run_refuse_sampling_sweepers():
    with pytest.raises(ConfigurationError, match="dry_run works with the basic"):
        hydra_sweep(
            tasks.objective,
            config_path=CONF,
            config_name="app",
            mode="local",
            dry_run=True,
            overrides=["hydra/sweeper=optuna", "x=interval(0,1)"],
        )


def test_dry_run_single_run(capsys):
    assert hydra_run(tasks.scaled, config_path=CONF, config_name="app", mode="local", dry_run=True) is None
    assert "Dry run: 1 job(s) would run in local mode" in capsys.readouterr().out


def _start_sweep(tmp_path: Path, task: str, mode: str, *overrides: str, env: dict | None = None, **kwargs):
    return subprocess.Popen(
        [sys.executable, str(APPS / "sdk_sweep.py"), task, mode, *overrides],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SWEEP_KWARGS": json.dumps(kwargs), **(env or {})},
    )


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _phases(sweep: Path) -> dict[int, str]:
    if not (sweep / JOURNAL_NAME).exists():
        return {}
    return {n: j["phase"] for n, j in latest(sweep).items()}


def test_ctrl_c_aborts_local_jobs_records_them_and_exits_non_zero(tmp_path):
    sweep = tmp_path / "sweep"
    proc = _start_sweep(
        tmp_path,
        "timed",
        "local",
        "x=1,2,3,4",
        f"+log={tmp_path / 'spans'}",
        "+sleep=30",
        f"hydra.sweep.dir={sweep}",
        max_parallel=2,
    )
    _wait_for(lambda: list(_phases(sweep).values()).count("RUNNING") == 2, timeout=30)  # recorded as each starts
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - started < 15
    assert proc.returncode != 0
    assert "Interrupted: aborted 2 run(s):" in out
    assert _phases(sweep) == {0: "ABORTED", 1: "ABORTED", 2: "CANCELLED", 3: "CANCELLED"}


def test_ctrl_c_aborts_submitted_remote_runs(flyte_loopback, tmp_path):
    sweep = tmp_path / "sweep"
    proc = _start_sweep(
        tmp_path,
        "timed",
        "remote",
        "x=1,2",
        f"+log={tmp_path / 'spans'}",
        "+sleep=60",
        f"hydra.sweep.dir={sweep}",
        env={"FLYTECTL_CONFIG": str(flyte_loopback.config_path)},
    )
    _wait_for(lambda: list(_phases(sweep).values()) == ["SUBMITTED", "SUBMITTED"])
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Interrupted: aborted 2 run(s):" in out
    assert flyte_loopback.counters.get("AbortRun", 0) + flyte_loopback.counters.get("AbortAction", 0) >= 2
    assert _phases(sweep) == {0: "ABORTED", 1: "ABORTED"}
    assert flyte_loopback.still_running() == []


def test_sigkill_mid_sweep_then_rerun_finishes_the_missing_jobs(tmp_path):
    sweep, log = tmp_path / "sweep", tmp_path / "spans"
    overrides = ["x=1,2,3,4", f"+log={log}", "+sleep=0.7", f"hydra.sweep.dir={sweep}"]
    proc = _start_sweep(tmp_path, "timed", "local", *overrides)
    _wait_for(lambda: list(_phases(sweep).values()).count("SUCCEEDED") >= 2)
    proc.kill()
    proc.communicate(timeout=30)
    before = _phases(sweep)
    assert "SUCCEEDED" in before.values() and set(before.values()) != {"SUCCEEDED"}
    results = hydra_sweep(tasks.timed, config_path=CONF, config_name="app", mode="local", rerun_failed=sweep)
    rerun = [n for n, phase in before.items() if phase != "SUCCEEDED"]
    assert [r.value for r in results] == [float(n + 1) for n in rerun]
    assert set(_phases(sweep).values()) == {"SUCCEEDED"}


def test_parallel_local_jobs_through_hydras_runtime_leave_the_working_directory_alone(tmp_path):
    """Jobs side by side in threads must not chdir: restoring it out of order left the process in a job's folder."""
    before = os.getcwd()
    log = tmp_path / "spans"
    hydra_sweep(
        tasks.timed,
        config_path=CONF,
        config_name="app",
        mode="local",
        max_parallel=2,
        overrides=[
            "x=1,2,3,4",
            f"+log={log}",
            "+sleep=0.3",
            "hydra/job_logging=disabled",
            f"hydra.sweep.dir={tmp_path}",
        ],
    )
    assert os.getcwd() == before
    assert most_overlapping(log) == 2
