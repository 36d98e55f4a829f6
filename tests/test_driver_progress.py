"""driver=cluster on the client: the progress view and the journal follow the driver's children as they run."""

from __future__ import annotations

import json
import re
import time

import pytest
from apps import driver_paced, driver_tasks
from cli_support import flyte_cli
from conftest import APPS, submit_without_waiting

from flyteplugins.hydra import SweepFailedError, hydra_sweep
from flyteplugins.hydra._journal import read_journal

CONF = str(APPS / "conf")


@pytest.fixture
def nested(flyte_loopback):
    flyte_loopback.nested = True
    return flyte_loopback


def _index(lines: list[str], pattern: str) -> int:
    found = [i for i, line in enumerate(lines) if re.match(pattern, line)]
    assert found, f"no line matches {pattern!r} in:\n" + "\n".join(lines)
    return found[0]


def test_lines_show_each_child_start_and_end_while_the_driver_runs(nested, tmp_path, capsys):
    sweep_dir = tmp_path / "sweep"
    with pytest.raises(SweepFailedError):
        hydra_sweep(
            driver_paced.after_the_others,
            config_path=CONF,
            config_name="app",
            overrides=["x=1,2,3", "+fail_on=3", "+last=2", f"hydra.sweep.dir={sweep_dir}"],
            driver="cluster",
            progress="lines",
            journal=str(sweep_dir / "flyte_runs.jsonl"),
        )

    lines = capsys.readouterr().out.splitlines()
    # job #1 (x=2) ends only once the client has journaled #0 and #2 as ended: they were seen while it ran.
    ended_0 = _index(lines, r"\[\d/3\] job #0 SUCCEEDED")
    ended_2 = _index(lines, r"\[\d/3\] job #2 FAILED")
    ended_1 = _index(lines, r"\[3/3\] job #1 SUCCEEDED")
    assert _index(lines, r"job #0 RUNNING \[x=1 \+fail_on=3 \+last=2\] child action \S+") < ended_0 < ended_1
    assert _index(lines, r"job #2 RUNNING \[x=3 ") < ended_2 < ended_1
    assert _index(lines, r"job #1 RUNNING \[x=2 ") < ended_1
    assert "value comes at sweep end" in lines[ended_0]
    assert "2 succeeded, 1 failed" in lines[-2] or any("2 succeeded, 1 failed" in line for line in lines)


def test_following_lists_the_children_once_per_interval_not_once_per_child(nested, tmp_path, capsys):
    sweep_dir = tmp_path / "sweep"
    began = time.monotonic()
    with pytest.raises(SweepFailedError):
        hydra_sweep(
            driver_paced.after_the_others,
            config_path=CONF,
            config_name="app",
            overrides=["x=1,2,3", "+fail_on=3", "+last=2", f"hydra.sweep.dir={sweep_dir}"],
            driver="cluster",
            progress="off",
            journal=str(sweep_dir / "flyte_runs.jsonl"),
        )
    elapsed = time.monotonic() - began

    listings = [r for r in nested.requests("ListActions") if r.message.request.filters]
    assert listings, "the client never listed the driver's children"
    for request in listings:
        (condition,) = request.message.request.filters
        assert (condition.field, list(condition.values)) == ("parent_name", ["a0"])
    assert len(listings) <= elapsed + 1  # at most one listing a second, whatever the number of children
    assert nested.counters.get("GetActionDetails", 0) <= 2  # nothing is asked child by child
    assert "RUNNING" not in capsys.readouterr().out  # progress="off": no line per job


def test_the_journal_records_each_child_ending_before_the_driver_ends(nested, tmp_path):
    sweep_dir = tmp_path / "sweep"
    journal = sweep_dir / "flyte_runs.jsonl"
    hydra_sweep(
        driver_paced.after_the_others,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2", "+last=2", f"hydra.sweep.dir={sweep_dir}"],
        driver="cluster",
        progress="off",
        journal=str(journal),
    )

    records = [json.loads(line) for line in journal.read_text().splitlines()]
    job0 = [r for r in records if r.get("num") == 0]
    assert [r["phase"] for r in job0] == ["PENDING", "RUNNING", "SUCCEEDED", "SUCCEEDED"], job0
    assert job0[2]["error"] == "ValuePending: value comes at sweep end" and job0[2]["result"] is None
    assert (job0[-1]["error"], job0[-1]["result"]) == (None, 1.0)  # the driver's result: the value, no longer pending
    assert read_journal(sweep_dir).jobs[1]["result"] == 2.0


def test_status_of_a_running_driver_sweep_shows_which_jobs_are_done(nested, tmp_path):
    release = tmp_path / "release"
    sweep_dir, sweep_id = submit_without_waiting(
        tmp_path, "driver_paced.until_released", "x=1,2", "+last=2", driver="cluster", release=str(release)
    )
    deadline = time.monotonic() + 60
    while True:
        status = flyte_cli("hydra", "status", sweep_dir)
        assert status.exit_code == 0, status.output
        if "SUCCEEDED" in status.stdout:
            break
        assert time.monotonic() < deadline, f"job #0 never showed as done:\n{status.stdout}"
        time.sleep(0.2)

    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines() if line.startswith("#")}
    assert rows["#0"][1:3] == ["x=1", "+last=2"] and rows["#0"][3] == "SUCCEEDED", status.stdout
    assert "value comes at sweep end" in status.stdout
    assert rows["#1"][3] == "RUNNING", status.stdout
    assert {n: r["phase"] for n, r in read_journal(sweep_dir).jobs.items()} == {0: "SUCCEEDED", 1: "RUNNING"}
    by_id = flyte_cli("hydra", "status", sweep_id)  # nothing local: the jobs come from the children alone
    assert re.search(r"^#0\s+x=1 \+last=2\s+SUCCEEDED", by_id.stdout, re.MULTILINE), by_id.output
    assert re.search(r"^#1\s+x=2 \+last=2\s+RUNNING", by_id.stdout, re.MULTILINE), by_id.output

    release.touch()
    waited = flyte_cli("hydra", "wait", sweep_dir)

    assert waited.exit_code == 0, waited.output
    assert re.search(r"^\[2/2\] job #1 SUCCEEDED", waited.stdout, re.MULTILINE), waited.stdout
    assert "job #0 SUCCEEDED" not in waited.stdout  # over before `wait` began: only in the summary
    assert "2 succeeded, 0 failed" in waited.stdout
    results = json.loads(flyte_cli("hydra", "results", sweep_dir, "--format", "json").stdout)
    assert [r["value"] for r in results] == [1.0, 2.0]


def test_a_sampling_sweeper_s_trials_are_followed_as_they_start(nested, tmp_path, capsys):
    hydra_sweep(
        driver_tasks.objective,
        config_path=CONF,
        config_name="app",
        overrides=[
            "hydra/sweeper=optuna",
            "hydra.sweeper.n_trials=4",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.sampler.seed=7",
            "x=interval(-1.0, 1.0)",
            f"hydra.sweep.dir={tmp_path / 'optuna'}",
        ],
        driver="cluster",
        progress="lines",
    )

    lines = capsys.readouterr().out.splitlines()
    for num in range(4):
        started = _index(lines, rf"job #{num} RUNNING \[x=-?[0-9.]+\] child action \S+")
        assert started < _index(lines, rf"\[\d/4\] job #{num} SUCCEEDED")
    assert sorted(int(m) for m in re.findall(r"^\[(\d)/4\]", "\n".join(lines), re.MULTILINE)) == [1, 2, 3, 4]
