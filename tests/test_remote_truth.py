"""Remote sweeps never misreport: an unread result is not a failure, and fail_fast says what it can stop."""

from __future__ import annotations

import pytest
from apps import tasks
from conftest import APPS

from flyteplugins.hydra import ResultUnavailableError, Sweep, SweepFailedError, hydra_sweep
from flyteplugins.hydra._journal import read_journal

CONF = str(APPS / "conf")


def test_a_succeeded_run_whose_outputs_cannot_be_read_stays_succeeded_and_is_read_later(flyte_loopback, tmp_path):
    sweep = tmp_path / "sweep"
    flyte_loopback.inject_fault("GetActionData", code="permission_denied", times=2)
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(
            tasks.scaled,
            config_path=CONF,
            config_name="app",
            mode="remote",
            overrides=["x=1,2", f"hydra.sweep.dir={sweep}"],
        )
    assert [o.phase for o in info.value.outcomes] == ["SUCCEEDED", "SUCCEEDED"]
    assert all(isinstance(o.error, ResultUnavailableError) for o in info.value.outcomes)
    assert "SUCCEEDED" in str(info.value) and "A rerun (rerun_failed) will not run it again" in str(info.value)
    jobs = read_journal(sweep).jobs
    assert [(j["phase"], j["result"]) for j in jobs.values()] == [("SUCCEEDED", None), ("SUCCEEDED", None)]
    assert "its outputs could not be read" in jobs[0]["error"]

    created = flyte_loopback.counters["CreateRun"]
    hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", mode="remote", rerun_failed=sweep)
    assert flyte_loopback.counters["CreateRun"] == created  # nothing was run again
    assert [r.value for r in Sweep.open(sweep).results()] == [2.0, 4.0]
    assert [(j["phase"], j["result"], j["error"]) for j in read_journal(sweep).jobs.values()] == [
        ("SUCCEEDED", 2.0, None),
        ("SUCCEEDED", 4.0, None),
    ]


def test_fail_fast_without_waiting_warns_that_it_cannot_stop_anything(flyte_loopback, capsys):
    runs = hydra_sweep(
        tasks.scaled,
        config_path=CONF,
        config_name="app",
        mode="remote",
        overrides=["x=1,2"],
        wait=False,
        fail_fast=True,
    )
    for run in runs:
        run.wait(quiet=True)
    # Hydra's job logging configuration writes the warning to the console (it replaces pytest's log capture).
    captured = capsys.readouterr()
    assert (
        "fail_fast has no effect without waiting: the 2 submitted run(s) are not followed"
        in captured.out + captured.err
    )


def test_fail_fast_aborts_the_remote_runs_still_going(flyte_loopback, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(
            tasks.fails_or_sleeps,
            config_path=CONF,
            config_name="app",
            mode="remote",
            fail_fast=True,
            overrides=["x=2,1,3", "+sleep=60", f"hydra.sweep.dir={sweep}"],
        )
    assert [o.phase for o in info.value.outcomes] == ["FAILED", "ABORTED", "ABORTED"]
    assert flyte_loopback.still_running() == []
    assert "0 succeeded, 1 failed, 2 aborted" in capsys.readouterr().out
    assert [j["phase"] for j in read_journal(sweep).jobs.values()] == ["FAILED", "ABORTED", "ABORTED"]
