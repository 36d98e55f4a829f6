"""What a sweep of hundreds or thousands of jobs prints: counts and what went wrong, not a line per job twice."""

from __future__ import annotations

import logging

import pytest
from apps import tasks
from conftest import APPS
from rich.console import Console

from flyteplugins.hydra import SweepFailedError, hydra_sweep
from flyteplugins.hydra._errors import RemoteRunError
from flyteplugins.hydra._outcome import JobOutcome, RunResult
from flyteplugins.hydra._report import Progress, summary

CONF = str(APPS / "conf")


def succeeded(num: int, value: float) -> JobOutcome:
    return JobOutcome(num, [f"x={num}"], phase="SUCCEEDED", result=RunResult(value), started=0.0, finished=1.0)


def remote_failure(num: int, detail: str) -> JobOutcome:
    url = f"http://cp/v2/runs/sweep-{num}"
    error = RemoteRunError("FAILED", url, detail)
    return JobOutcome(num, [f"x={num}"], phase="FAILED", url=url, error=error, started=0.0, finished=1.0)


def rendered(progress: Progress) -> list[str]:
    console = Console(record=True, width=160)
    console.print(progress)
    return console.export_text().splitlines()


def test_the_live_view_of_ten_thousand_runs_shows_counts_and_ten_of_the_runs_going():
    progress = Progress(10_000, numbered=True, live=False)
    for num in range(6_000):
        progress.submitted(JobOutcome(num, [f"x={num}"], phase="SUBMITTED", url=f"http://cp/runs/r{num}"))
    for num in range(2_000):
        progress.finished(succeeded(num, 1.0))
    lines = rendered(progress)
    assert "2000/10000 done" in lines[0]
    assert "2000 succeeded" in lines[0] and "4000 submitted" in lines[0] and "4000 queued" in lines[0]
    rows = [line for line in lines if line.lstrip().startswith("#")]
    assert [row.split()[0] for row in rows] == [f"#{num}" for num in range(2_000, 2_010)]
    assert lines[-1].strip() == "... and 3990 more going"
    assert progress.counts() == {"SUCCEEDED": 2000, "SUBMITTED": 4000, "queued": 4000}


def test_the_live_view_is_the_same_size_at_a_hundred_runs_as_at_ten_thousand():
    small, large = Progress(100, numbered=True, live=False), Progress(10_000, numbered=True, live=False)
    for progress in (small, large):
        for num in range(progress.total):
            progress.submitted(JobOutcome(num, [f"x={num}"], phase="SUBMITTED", url=f"http://cp/runs/r{num}"))
    assert len(rendered(small)) == len(rendered(large)) == 13  # header, column names, 10 runs, "... more"


def test_a_large_live_sweep_prints_its_first_ten_failures_and_no_line_per_job(capsys):
    progress = Progress(100, numbered=True, live=True)
    try:
        for num in range(100):
            progress.submitted(JobOutcome(num, [f"x={num}"], phase="SUBMITTED", url=f"http://cp/runs/r{num}"))
        for num in range(60):
            progress.finished(succeeded(num, 0.5))
        for num in range(60, 75):
            progress.finished(remote_failure(num, "boom"))
    finally:
        progress.close()
    lines = capsys.readouterr().out.splitlines()
    failures = [line for line in lines if " FAILED " in line]
    assert len(failures) == 10 and failures[0].startswith("[61/100] job #60 FAILED RemoteRunError")
    assert "http://cp/v2/runs/sweep-60" not in failures[0]  # the run's URL is in the journal, not the error line
    assert sum("More than 10 jobs failed" in line for line in lines) == 1
    assert not any("Flyte run submitted" in line or "SUCCEEDED" in line for line in lines)


def test_lines_prints_every_event_whatever_the_sweep_size(capsys):
    progress = Progress(100, numbered=True, style="lines")
    for num in range(100):
        progress.submitted(JobOutcome(num, [f"x={num}"], phase="SUBMITTED", url=f"http://cp/runs/r{num}"))
        progress.finished(succeeded(num, 0.5) if num % 2 else remote_failure(num, "boom"))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 200
    assert lines[-1] == "[100/100] job #99 SUCCEEDED 0.5 1.0s"


def test_off_prints_nothing_at_any_size(capsys):
    progress = Progress(100, numbered=True, style="off")
    for num in range(100):
        progress.submitted(JobOutcome(num, [f"x={num}"], phase="SUBMITTED", url=f"http://cp/runs/r{num}"))
        progress.finished(remote_failure(num, "boom"))
    summary([remote_failure(num, "boom") for num in range(100)], style="off")
    assert capsys.readouterr().out == ""


def test_a_failed_jobs_line_is_one_line_however_long_its_error():
    progress_error = RuntimeError("first line\n" + "Traceback (most recent call last):\n  File ...\n" * 20)
    outcome = JobOutcome(3, ["x=3"], phase="FAILED", error=progress_error, started=0.0, finished=1.0)
    from flyteplugins.hydra._summary import error_line

    assert error_line(outcome) == "RuntimeError: first line"
    assert len(error_line(JobOutcome(1, [], phase="FAILED", error=ValueError("y" * 500)))) == 160


def test_a_large_sweeps_summary_counts_groups_failures_names_extremes_and_says_where_every_job_is(capsys, tmp_path):
    outcomes = [succeeded(num, float(num)) for num in range(900)]
    outcomes += [remote_failure(num, "CUDA out of memory") for num in range(900, 960)]
    outcomes += [remote_failure(num, "disk full") for num in range(960, 1000)]
    summary(outcomes, sweep_dir=tmp_path)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1000 jobs: 900 succeeded, 100 failed"
    assert lines[1] == "Failures (100, 2 distinct error(s)):"
    assert lines[2].strip() == "60 x RemoteRunError: Flyte run ended in phase FAILED: CUDA out of memory"
    assert lines[3].strip() == "#900 [x=900], #901 [x=901], #902 [x=902] and 57 more"
    assert lines[4].strip() == "40 x RemoteRunError: Flyte run ended in phase FAILED: disk full"
    assert lines[6] == "Results (900 numeric): lowest 0 #0 [x=0], 1 #1 [x=1], 2 #2 [x=2]"
    assert lines[7].strip() == "highest 899 #899 [x=899], 898 #898 [x=898], 897 #897 [x=897]"
    assert str(tmp_path / "flyte_runs.jsonl") in lines[8] and f"flyte hydra results {tmp_path}" in lines[8]
    assert str(tmp_path / "report.html") in lines[8]
    assert len(lines) == 9


def test_a_summary_shows_five_errors_and_counts_the_others(capsys):
    outcomes = [remote_failure(num, f"error number {num}") for num in range(30)]
    summary(outcomes)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "30 jobs: 30 failed"
    assert lines[-2].strip() == "... 25 other error(s), 25 job(s)"
    assert lines[-1] == "Every job's outcome is in the list this launch returned."
    assert len(lines) == 2 + 5 * 2 + 2


def test_a_sweep_of_twenty_jobs_still_prints_a_row_per_job(capsys):
    summary([succeeded(num, 0.5) for num in range(20)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "20 succeeded, 0 failed"


def test_a_sweep_failure_lists_ten_failed_jobs_and_says_where_the_rest_are():
    error = SweepFailedError([remote_failure(num, "boom") for num in range(500)])
    lines = str(error).splitlines()
    assert lines[0] == "500 of 500 jobs failed:" and len(lines) == 12
    assert "and 490 more" in lines[-1] and "flyte hydra results" in lines[-1]
    assert len(error.outcomes) == 500


def test_a_large_local_sweep_prints_failures_once_each_without_flytes_tracebacks(capfd, tmp_path):
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(
            tasks.fails_above_ten,
            config_path=CONF,
            config_name="app",
            overrides=["x=range(0,25)", f"hydra.sweep.dir={tmp_path}"],
            mode="local",
            progress="lines",
        )
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Task failed with error" not in out + err
    assert sum(" FAILED " in line for line in out.splitlines()) == 14  # one event line per failed job
    assert "25 jobs: 14 failed, 11 succeeded" in out
    assert "10 x RuntimeUserError: x is too large" in out and "4 x RuntimeUserError: x is far too large" in out
    assert f"flyte hydra results {tmp_path}" in out
    assert len(info.value.outcomes) == 25


def test_flytes_traceback_of_a_failed_local_job_comes_back_at_debug(capfd, tmp_path):
    logger = logging.getLogger("flyteplugins.hydra.tracebacks")
    logger.setLevel(logging.DEBUG)
    try:
        with pytest.raises(SweepFailedError):
            hydra_sweep(
                tasks.fails_above_ten,
                config_path=CONF,
                config_name="app",
                overrides=["x=11,12", f"hydra.sweep.dir={tmp_path}"],
                mode="local",
            )
    finally:
        logger.setLevel(logging.NOTSET)
    out, err = capfd.readouterr()
    assert (out + err).count("Task failed with error") == 2


def test_a_remote_sweep_bundles_and_builds_its_task_spec_once(flyte_loopback, capfd):
    flyte_loopback.limit_running(0)  # nothing runs: only the submissions are looked at
    hydra_sweep(
        tasks.scaled, config_path=CONF, config_name="app", overrides=["x=range(0,25)"], mode="remote", wait=False
    )
    out, err = capfd.readouterr()
    assert (out + err).count("Bundling code") == 1
    creates = flyte_loopback.requests("CreateRun")
    assert len(creates) == 25 and flyte_loopback.counters["UploadInputs"] == 25
    assert len({c.message.task_spec.SerializeToString(deterministic=True) for c in creates}) == 1
    assert sorted(c.message.run_id.name for c in creates) == sorted({c.message.run_id.name for c in creates})


def test_jobs_with_different_task_env_get_their_own_task_spec(flyte_loopback):
    flyte_loopback.limit_running(0)
    hydra_sweep(
        tasks.scaled,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2", "+task_env.scaled.resources.cpu='1','2'"],
        mode="remote",
        wait=False,
    )
    cpus = {}
    for create in flyte_loopback.requests("CreateRun"):
        resources = create.message.task_spec.task_template.container.resources.requests
        job = dict(create.message.run_spec.labels.values)["hydra-job"]
        cpus[job] = [r.value for r in resources if r.name == 1]  # 1: CPU
    assert cpus == {"0": ["1"], "1": ["2"], "2": ["1"], "3": ["2"]}


def test_the_journal_keeps_every_record_of_a_sweep_and_syncs_the_last_one_at_the_end(tmp_path):
    from flyteplugins.hydra._journal import Journal, read_journal

    journal = Journal(tmp_path)
    journal.jobs([JobOutcome(num, [f"x={num}"]) for num in range(1000)])
    for num in range(1000):
        journal.job(succeeded(num, float(num)))
    journal.sync()
    state = read_journal(tmp_path)
    assert len(state.jobs) == 1000 and {r["phase"] for r in state.jobs.values()} == {"SUCCEEDED"}
    assert not journal._unsynced
