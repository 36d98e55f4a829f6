"""Reruns say what they rerun and why, refuse journals they cannot follow, and run where the sweep ran."""

from __future__ import annotations

import pytest
from apps import tasks
from cli_support import TASKS, flat, flyte_cli
from conftest import APPS, run_script

from flyteplugins.hydra import ConfigurationError, SweepFailedError, hydra_sweep
from flyteplugins.hydra._journal import JOURNAL_NAME, read_journal

CONF = str(APPS / "conf")


def failed_sweep(tmp_path, *extra: str):
    """A local sweep of x=1,2,3 whose x=2 failed; its directory, call log and poison file."""
    sweep, log, poison = tmp_path / "sweep", tmp_path / "calls", tmp_path / "poison"
    poison.touch()
    overrides = ["x=1,2,3", f"+log={log}", f"+poison={poison}", f"hydra.sweep.dir={sweep}", *extra]
    with pytest.raises(SweepFailedError):
        hydra_sweep(tasks.flaky, config_path=CONF, config_name="app", mode="local", overrides=overrides)
    log.unlink()
    return sweep, log, poison, overrides


def test_rerun_says_which_jobs_it_reruns_and_why(tmp_path, capsys):
    sweep, _log, poison, _ = failed_sweep(tmp_path)
    poison.unlink()
    capsys.readouterr()
    hydra_sweep(tasks.flaky, config_path=CONF, config_name="app", mode="local", rerun_failed=sweep)
    out = capsys.readouterr().out
    assert f"Rerunning 1 of 3 job(s) recorded in {sweep} (local):" in out
    plan = out.split("(local):\n", 1)[1].splitlines()[0]
    assert plan.startswith("  job #1 [x=2 ") and " FAILED: " in plan and "poisoned" in plan, plan


def test_rerun_uses_the_mode_the_sweep_ran_in(tmp_path):
    """No mode given: the local sweep is rerun locally (remote, the default, has no endpoint here)."""
    sweep, log, poison, _ = failed_sweep(tmp_path)
    poison.unlink()
    results = hydra_sweep(tasks.flaky, config_path=CONF, config_name="app", rerun_failed=sweep)
    assert [r.value for r in results] == [2.0]
    assert log.read_text().split() == ["2"]


def test_rerun_of_a_sweep_that_fully_succeeded_says_there_is_nothing_to_do(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    hydra_sweep(
        tasks.scaled, config_path=CONF, config_name="app", mode="local", overrides=["x=1,2", f"hydra.sweep.dir={sweep}"]
    )
    capsys.readouterr()
    assert hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", rerun_failed=sweep) == []
    assert f"Nothing to rerun: all 2 job(s) recorded in {sweep} succeeded." in capsys.readouterr().out


def test_rerun_of_an_empty_journal_is_refused(tmp_path):
    (tmp_path / JOURNAL_NAME).write_text("")
    with pytest.raises(ConfigurationError, match="records no sweep, so there is nothing to rerun"):
        hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", mode="local", rerun_failed=tmp_path)


def test_the_latest_sweep_in_a_directory_is_the_one_rerun(tmp_path):
    sweep, _log, _poison, _overrides = failed_sweep(tmp_path)
    # A second sweep in the same directory, all of whose jobs succeed.
    hydra_sweep(
        tasks.scaled, config_path=CONF, config_name="app", mode="local", overrides=["x=5,6", f"hydra.sweep.dir={sweep}"]
    )
    assert hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", rerun_failed=sweep) == []
    assert {n: r["phase"] for n, r in read_journal(sweep).jobs.items()} == {0: "SUCCEEDED", 1: "SUCCEEDED"}


def test_sdk_refuses_a_rerun_whose_overrides_differ_from_the_record(tmp_path):
    sweep, *_ = failed_sweep(tmp_path)
    with pytest.raises(
        ConfigurationError, match=r"overrides differ from the recorded sweep \(.*given but not recorded: x=7"
    ):
        hydra_sweep(tasks.flaky, config_path=CONF, config_name="app", overrides=["x=7"], rerun_failed=sweep)


def test_cli_refuses_a_rerun_whose_overrides_differ_from_the_record(tmp_path):
    sweep, *_ = failed_sweep(tmp_path)
    result = flyte_cli(
        "hydra", "run", "--local", "--multirun", "--config-path", CONF, "--config-name", "app",
        "--rerun-failed", sweep, TASKS, "flaky", "--cfg", "x=7",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "the overrides differ from the recorded sweep" in flat(result.output)
    assert "given but not recorded: x=7" in flat(result.output)


def test_launcher_refuses_a_rerun_whose_overrides_differ_from_the_record(tmp_path):
    sweep, log, _poison, _overrides = failed_sweep(tmp_path)
    proc = run_script(
        APPS / "hydra_app.py", "--multirun", "hydra/launcher=flyte", "hydra.launcher.mode=local",
        f"hydra.launcher.rerun_failed={sweep}", "+task=flaky", "x=7", f"hydra.sweep.dir={sweep}", cwd=APPS,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "the overrides differ from the recorded sweep" in proc.stderr
    assert not log.exists(), "nothing may run"


def test_a_failed_local_job_records_its_run_name_and_where_its_run_is(tmp_path):
    sweep, *_ = failed_sweep(tmp_path)
    failed = read_journal(sweep).jobs[1]
    assert failed["phase"] == "FAILED"
    assert failed["run_name"] and failed["run_name"].startswith("flaky-") and failed["run_name"].endswith("-1")
    assert failed["url"] == f"/tmp/flyte/metadata/{failed['run_name']}"
