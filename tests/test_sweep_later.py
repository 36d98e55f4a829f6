"""Sweeps that outlive their terminal: submitted without waiting by one process, followed from another.

Each sweep is submitted by `apps/sdk_sweep.py` in its own interpreter, which exits once every run
is submitted; the test process (a fresh one, as far as those runs are concerned) then uses
`flyte hydra status|wait|results|abort` or `Sweep` against the loopback control plane.
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import flyte.remote
import pytest
from apps import tasks
from cli_support import flat, flyte_cli, flyte_exe
from conftest import APPS, run_script
from conftest import submit_without_waiting as submit

from flyteplugins.hydra import RunResult, Sweep, SweepFailedError, hydra_sweep


def journal_phases(sweep_dir: str) -> dict[int, str]:
    phases = {}
    with open(f"{sweep_dir}/flyte_runs.jsonl", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "num" in record:
                phases[record["num"]] = record["phase"]
    return phases


def labelled_phases(server, sweep_id: str) -> dict[str, str]:
    """Each job's run phase, as the cluster has it."""
    server.init_flyte()
    runs = flyte.remote.Run.listall(with_labels={"hydra-sweep": sweep_id})
    return {r.pb2.labels["hydra-job"]: r.phase.name for r in runs}


def test_wait_follows_a_sweep_submitted_by_a_process_that_is_gone(flyte_loopback, tmp_path):
    sweep_dir, _ = submit(tmp_path, "scaled", "x=1,3")
    assert set(journal_phases(sweep_dir).values()) == {"SUBMITTED"}

    result = flyte_cli("hydra", "wait", sweep_dir)

    assert result.exit_code == 0, result.output
    assert "2 succeeded, 0 failed" in result.stdout
    assert journal_phases(sweep_dir) == {0: "SUCCEEDED", 1: "SUCCEEDED"}


def test_wait_exits_non_zero_naming_the_job_that_failed(flyte_loopback, tmp_path):
    sweep_dir, _ = submit(tmp_path, "fails_on_two", "x=1,2")

    result = flyte_cli("hydra", "wait", sweep_dir)

    assert result.exit_code == 1
    message = flat(result.stderr)
    assert "1 of 2 jobs did not succeed" in message and "job #1 [x=2] FAILED" in message


def test_status_and_results_find_the_runs_by_sweep_id_without_the_directory(flyte_loopback, tmp_path):
    sweep_dir, sweep_id = submit(tmp_path, "pair", "x=1,2", "name=a")
    assert flyte_cli("hydra", "wait", sweep_dir).exit_code == 0
    shutil.rmtree(sweep_dir)

    status = flyte_cli("hydra", "status", sweep_id)
    results = flyte_cli("hydra", "results", sweep_id, "--format", "json")

    assert status.exit_code == 0, status.output
    rows = [line.split()[:4] for line in status.stdout.splitlines() if line.startswith("#")]
    assert rows == [["#0", "x=1", "name=a", "SUCCEEDED"], ["#1", "x=2", "name=a", "SUCCEEDED"]]
    assert status.stdout.strip().endswith("2 SUCCEEDED")
    assert results.exit_code == 0, results.output
    records = json.loads(results.stdout)
    assert [(r["num"], r["overrides"], r["phase"], r["value"]) for r in records] == [
        (0, ["x=1", "name=a"], "SUCCEEDED", [1, "a"]),
        (1, ["x=2", "name=a"], "SUCCEEDED", [2, "a"]),
    ]
    assert all(r["url"].startswith(flyte_loopback.endpoint) and r["url"].endswith(r["run_name"]) for r in records)


def test_results_as_csv_have_one_column_per_swept_key(flyte_loopback, tmp_path):
    sweep_dir, _ = submit(tmp_path, "scaled", "x=1,3", "+tag=a,b")
    assert flyte_cli("hydra", "wait", sweep_dir).exit_code == 0

    result = flyte_cli("hydra", "results", sweep_dir, "--format", "csv")

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[:3] == ["num", "x", "tag"]
    assert [(r["x"], r["tag"], r["phase"], r["value"]) for r in rows] == [
        ("1", "a", "SUCCEEDED", "2.0"),
        ("1", "b", "SUCCEEDED", "2.0"),
        ("3", "a", "SUCCEEDED", "6.0"),
        ("3", "b", "SUCCEEDED", "6.0"),
    ]


def test_abort_stops_every_run_and_records_it(flyte_loopback, tmp_path):
    sweep_dir, sweep_id = submit(tmp_path, "lingers", "x=1,2")

    result = flyte_cli("hydra", "abort", sweep_dir)

    assert result.exit_code == 0, result.output
    assert "Aborted 2 run(s)" in result.stdout
    assert labelled_phases(flyte_loopback, sweep_id) == {"0": "ABORTED", "1": "ABORTED"}
    assert journal_phases(sweep_dir) == {0: "ABORTED", 1: "ABORTED"}
    again = flyte_cli("hydra", "abort", sweep_dir)
    assert "Nothing to abort" in again.stdout


def test_abort_of_one_job_by_sweep_id_leaves_the_others_running(flyte_loopback, tmp_path):
    _, sweep_id = submit(tmp_path, "lingers", "x=1,2")

    result = flyte_cli("hydra", "abort", sweep_id, "--job", "1")

    assert result.exit_code == 0, result.output
    phases = labelled_phases(flyte_loopback, sweep_id)
    assert phases["1"] == "ABORTED" and phases["0"] in ("QUEUED", "RUNNING")
    assert flyte_cli("hydra", "abort", sweep_id).exit_code == 0
    assert set(labelled_phases(flyte_loopback, sweep_id).values()) == {"ABORTED"}


def test_abort_of_a_job_the_sweep_does_not_have_says_which_it_has(flyte_loopback, tmp_path):
    sweep_dir, _ = submit(tmp_path, "lingers", "x=1,2")

    result = flyte_cli("hydra", "abort", sweep_dir, "--job", "7")

    assert result.exit_code == 1
    assert "has no job 7; its jobs are 0, 1" in flat(result.stderr)
    assert flyte_cli("hydra", "abort", sweep_dir).exit_code == 0


def test_rerun_failed_asks_the_cluster_and_reruns_only_what_really_failed(flyte_loopback, tmp_path):
    sweep_dir, sweep_id = submit(tmp_path, "fails_on_two", "x=1,2,3")
    flyte_loopback.init_flyte()
    for run in flyte.remote.Run.listall(with_labels={"hydra-sweep": sweep_id}):
        run.wait(quiet=True)
    assert set(journal_phases(sweep_dir).values()) == {"SUBMITTED"}  # the journal never heard back
    flyte_loopback.reset()

    with pytest.raises(SweepFailedError, match="x=2 is not allowed"):
        hydra_sweep(
            tasks.fails_on_two, config_path=str(APPS / "conf"), config_name="app", mode="remote", rerun_failed=sweep_dir
        )

    (rerun,) = flyte_loopback.requests("CreateRun")
    labels = dict(rerun.message.run_spec.labels.values)
    assert labels == {"hydra-sweep": sweep_id, "hydra-job": "1"}
    assert journal_phases(sweep_dir) == {0: "SUCCEEDED", 1: "FAILED", 2: "SUCCEEDED"}


def test_rerun_failed_leaves_runs_still_going_alone_and_says_so(flyte_loopback, tmp_path, capsys):
    sweep_dir, _ = submit(tmp_path, "lingers", "x=1,2")
    flyte_loopback.reset()

    hydra_sweep(tasks.lingers, config_path=str(APPS / "conf"), config_name="app", mode="remote", rerun_failed=sweep_dir)

    out = capsys.readouterr().out
    assert "job #0 [x=1] is still" in out and "not rerun" in out
    assert flyte_loopback.counters.get("CreateRun", 0) == 0
    Sweep.open(sweep_dir).abort()


def test_sweep_results_are_run_results_in_job_order(flyte_loopback, tmp_path):
    sweep_dir, sweep_id = submit(tmp_path, "fails_on_two", "x=1,2,3")

    sweep = Sweep.open(sweep_id)
    sweep.wait()
    results = sweep.results()

    assert all(isinstance(r, RunResult) for r in results)
    assert [(r.value, r.phase) for r in results] == [(1.0, "SUCCEEDED"), (None, "FAILED"), (3.0, "SUCCEEDED")]
    assert [o.num for o in Sweep.open(sweep_dir).status()] == [0, 1, 2]


def test_every_run_of_a_sweep_is_named_labelled_and_annotated(flyte_loopback, tmp_path):
    hydra_sweep(
        tasks.scaled,
        config_path=str(APPS / "conf"),
        config_name="app",
        mode="remote",
        overrides=["x=1,2", f"hydra.sweep.dir={tmp_path}"],
        run_options={"labels": {"team": "ml"}},
    )

    requests = sorted(flyte_loopback.requests("CreateRun"), key=lambda r: r.message.run_id.name)
    sweep_id = Sweep.open(tmp_path).id
    assert [r.message.run_id.name for r in requests] == [f"scaled-{sweep_id}-0", f"scaled-{sweep_id}-1"]
    assert [dict(r.message.run_spec.labels.values) for r in requests] == [
        {"team": "ml", "hydra-sweep": sweep_id, "hydra-job": "0"},
        {"team": "ml", "hydra-sweep": sweep_id, "hydra-job": "1"},
    ]
    annotations = [r.message.run_spec.annotations.values for r in requests]
    assert [json.loads(a["hydra-overrides"]) for a in annotations] == [["x=1"], ["x=2"]]


def test_an_unknown_sweep_id_says_what_was_looked_for(flyte_loopback):
    result = flyte_cli("hydra", "status", "0badbeef")

    assert result.exit_code == 1
    assert "No run on the cluster carries the label hydra-sweep=0badbeef" in flat(result.stderr)


def test_something_that_is_neither_a_directory_nor_an_id_is_refused(tmp_path):
    result = flyte_cli("hydra", "results", tmp_path / "nowhere")

    assert result.exit_code == 1
    assert "is neither a sweep directory" in flat(result.stderr) and "nor a sweep id" in flat(result.stderr)


def test_a_local_sweep_is_read_from_its_journal_and_says_so(tmp_path):
    hydra_sweep(
        tasks.scaled,
        config_path=str(APPS / "conf"),
        config_name="app",
        mode="local",
        overrides=["x=1,2", f"hydra.sweep.dir={tmp_path}"],
    )

    status = flyte_cli("hydra", "status", tmp_path)
    results = flyte_cli("hydra", "results", tmp_path, "--format", "json")

    assert status.exit_code == 0, status.output
    assert "Local sweep: its jobs ran in process" in flat(status.stderr)
    assert [r["value"] for r in json.loads(results.stdout)] == [2.0, 4.0]


def test_the_executable_waits_for_a_sweep_by_id(flyte_loopback, tmp_path):
    _, sweep_id = submit(tmp_path, "scaled", "x=1")

    proc = flyte_exe("hydra", "wait", sweep_id, cwd=tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert labelled_phases(flyte_loopback, sweep_id) == {"0": "SUCCEEDED"}


def test_a_launcher_sweep_without_waiting_is_followed_by_its_directory(flyte_loopback, tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.wait=false",
        "+task=objective",
        "x=0.1,0.5",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=APPS.parent,
        env={"FLYTECTL_CONFIG": str(flyte_loopback.config_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"flyte hydra wait {sweep_dir}" in proc.stdout

    result = flyte_cli("hydra", "wait", sweep_dir)

    assert result.exit_code == 0, result.output
    assert journal_phases(str(sweep_dir)) == {0: "SUCCEEDED", 1: "SUCCEEDED"}


def test_results_as_html_from_another_process_reports_what_the_cluster_says(flyte_loopback, tmp_path):
    sweep_dir, sweep_id = submit(tmp_path, "fails_on_two", "x=1,2,3")
    assert flyte_cli("hydra", "wait", sweep_dir).exit_code == 1

    result = flyte_cli("hydra", "results", sweep_dir, "--format", "html")

    assert result.exit_code == 0, result.output
    page = (tmp_path / "sweep" / "report.html").read_text()
    assert f"Report: {sweep_dir}/report.html" in result.stdout
    assert "x=2 is not allowed" in page and "Best job: #0" in page
    by_id = tmp_path / "by-id.html"
    shutil.rmtree(sweep_dir)
    assert flyte_cli("hydra", "results", sweep_id, "--format", "html", "-o", by_id, "--objective", "0").exit_code == 0
    assert "x=2 is not allowed" in by_id.read_text()


def test_sweep_report_writes_the_html_next_to_the_journal(tmp_path):
    sweep_dir = tmp_path / "local"
    hydra_sweep(tasks.scaled, config_path=str(APPS / "conf"), config_name="app", mode="local",
                overrides=["x=1,2", f"hydra.sweep.dir={sweep_dir}"])  # fmt: skip
    path = Sweep.open(sweep_dir).report()
    assert path == sweep_dir / "report.html"
    assert "<svg" in path.read_text() and "Best job: #0" in path.read_text()
