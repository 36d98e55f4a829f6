"""Ctrl-C at each stage of a remote sweep: nothing of it is left running, and the journal tells the truth.

Each test runs a real sweep in its own process (`apps/sdk_sweep.py`) against the loopback plane,
waits for the stage it interrupts to show (in the journal and the plane's request log), sends
SIGINT, and then compares every job's journal record with the plane's own record of its run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conftest import APPS, ROOT

from flyteplugins.hydra._journal import JOURNAL_NAME, read_journal

EXIT_SECONDS = 30  # the abort itself is bounded by 10 s


def _start(sweep: Path, *overrides: str, config: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(APPS / "sdk_sweep.py"), "timed", "remote", *overrides, f"hydra.sweep.dir={sweep}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SWEEP_KWARGS": json.dumps(kwargs), "FLYTECTL_CONFIG": str(config)},
    )


def _jobs(sweep: Path) -> dict[int, dict]:
    return read_journal(sweep).jobs if (sweep / JOURNAL_NAME).exists() else {}


def _wait_for(what: str, predicate: Callable[[], bool], proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate(timeout=EXIT_SECONDS)
            raise AssertionError(f"never saw {what}:\n{out}\n{err}")
        time.sleep(0.05)


def _interrupt(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=EXIT_SECONDS)
    assert proc.returncode != 0, out + err
    return out


def _assert_journal_matches_plane(sweep: Path, plane: dict[str, str]) -> dict[int, str]:
    """Every job the plane ran is recorded in the phase the plane gives it; a job it never ran says so."""
    phases = {}
    for num, record in _jobs(sweep).items():
        on_plane = plane.get(record["run_name"])
        if on_plane is not None:
            assert record["phase"] == on_plane, (record, on_plane)
        elif record["phase"] == "SUBMITTING":
            assert "while its submission was unanswered" in record["error"], record
        else:
            assert record["phase"] == "CANCELLED" and record["url"] is None, record
        phases[num] = record["phase"]
    return phases


def test_ctrl_c_during_the_bundle_upload_leaves_nothing_running(flyte_loopback, tmp_path):
    sweep = tmp_path / "sweep"
    flyte_loopback.set_latency(3, rpc="SignedUrlPut")
    proc = _start(sweep, "x=1,2", f"+log={tmp_path / 'spans'}", "+sleep=60", config=flyte_loopback.config_path)
    _wait_for("the bundle upload", lambda: flyte_loopback.counters.get("SignedUrlPut", 0) > 0, proc)
    out = _interrupt(proc)
    assert flyte_loopback.still_running() == []
    phases = _assert_journal_matches_plane(sweep, flyte_loopback.runs())
    assert phases[1] == "CANCELLED"
    assert "Interrupted:" in out


def test_ctrl_c_while_submissions_are_unanswered_aborts_their_runs_by_name(flyte_loopback, tmp_path):
    sweep = tmp_path / "sweep"
    flyte_loopback.set_latency(10, rpc="CreateRun", after_handling=True)  # runs exist, answers are late
    proc = _start(sweep, "x=1,2,3", f"+log={tmp_path / 'spans'}", "+sleep=60", config=flyte_loopback.config_path)
    # Job 0 goes first (its answer comes 10 s later); jobs 1 and 2 then go together.
    _wait_for(
        "jobs 1 and 2 created, not answered",
        lambda: (
            len(flyte_loopback.runs()) == 3
            and [j["phase"] for n, j in sorted(_jobs(sweep).items())] == ["SUBMITTED", "SUBMITTING", "SUBMITTING"]
        ),
        proc,
    )
    started = time.monotonic()
    out = _interrupt(proc)
    assert time.monotonic() - started < 8  # found by name: their answers were still 10 s away
    assert flyte_loopback.still_running() == []
    assert _assert_journal_matches_plane(sweep, flyte_loopback.runs()) == {0: "ABORTED", 1: "ABORTED", 2: "ABORTED"}
    assert "Interrupted: aborted 3 run(s):" in out


def test_ctrl_c_while_waiting_aborts_every_run(flyte_loopback, tmp_path):
    sweep = tmp_path / "sweep"
    proc = _start(sweep, "x=1,2", f"+log={tmp_path / 'spans'}", "+sleep=60", config=flyte_loopback.config_path)
    _wait_for(
        "both runs going",
        lambda: (
            sorted(flyte_loopback.runs().values()) == ["RUNNING", "RUNNING"]
            and [j["phase"] for j in _jobs(sweep).values()] == ["SUBMITTED", "SUBMITTED"]
        ),
        proc,
    )
    out = _interrupt(proc)
    assert flyte_loopback.still_running() == []
    assert _assert_journal_matches_plane(sweep, flyte_loopback.runs()) == {0: "ABORTED", 1: "ABORTED"}
    assert "Interrupted: aborted 2 run(s):" in out
