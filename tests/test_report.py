"""What users read: plain event lines off a terminal, a live view on one, and the final table."""

from __future__ import annotations

import pytest
from rich.console import Console

from flyteplugins.hydra._outcome import JobOutcome, RunResult
from flyteplugins.hydra._report import Progress, _interactive, summary, sweep_report


@pytest.mark.parametrize("var", ["NO_COLOR", "CI"])
def test_plain_output_when_no_color_or_ci(monkeypatch, var):
    monkeypatch.setenv(var, "1")
    assert _interactive() is False


def test_plain_output_when_not_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert _interactive() is False  # pytest captures stdout: not a TTY


def test_live_view_counts_phases_and_lists_runs_still_going():
    progress = Progress(3, numbered=True, live=False)
    running = JobOutcome(1, ["x=2"], phase="SUBMITTED", url="http://cp/runs/r1")
    done = JobOutcome(0, ["x=1"], phase="SUCCEEDED", result=RunResult(1.0), started=1.0, finished=2.0)
    progress.submitted(running)
    progress.finished(done)
    console = Console(record=True, width=120)
    console.print(progress)
    text = console.export_text()
    assert "1/3 done" in text and "1 submitted" in text and "1 succeeded" in text and "1 queued" in text
    assert "#1" in text and "x=2" in text and "http://cp/runs/r1" in text
    assert "#0" not in text


def test_plain_event_lines(capsys):
    progress = Progress(2, numbered=True, live=False)
    progress.submitted(JobOutcome(0, ["x=1"], phase="SUBMITTED", url="http://cp/runs/r0"))
    progress.finished(JobOutcome(0, ["x=1"], phase="SUCCEEDED", result=RunResult(0.5), started=0.0, finished=1.25))
    progress.finished(JobOutcome(1, ["x=2"], phase="FAILED", error=ValueError("bad x"), started=0.0, finished=2.0))
    assert capsys.readouterr().out.splitlines() == [
        "Flyte run submitted [0]: http://cp/runs/r0",
        "[1/2] job #0 SUCCEEDED 0.5 1.2s",
        "[2/2] job #1 FAILED ValueError: bad x 2.0s",
    ]


def test_summary_table_has_every_column(capsys):
    summary(
        [
            JobOutcome(0, ["x=1"], phase="SUCCEEDED", result=RunResult(0.5), url="u0", started=0.0, finished=3.0),
            JobOutcome(1, ["x=2"], phase="FAILED", error=ValueError("bad"), url="u1", started=0.0, finished=1.0),
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["job", "overrides", "phase", "result", "duration", "url"]
    assert lines[1].split() == ["#0", "x=1", "SUCCEEDED", "0.5", "3.0s", "u0"]
    assert lines[2].split() == ["#1", "x=2", "FAILED", "bad", "1.0s", "u1"]
    assert lines[3] == "1 succeeded, 1 failed"


def test_summary_of_runs_not_awaited_shows_no_result(capsys):
    summary(
        [
            JobOutcome(0, ["x=1"], phase="SUBMITTED", result=object(), url="u0"),
            JobOutcome(1, ["x=2"], phase="SUBMITTED", result=object(), url="u1"),
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["#0", "x=1", "SUBMITTED", "u0"]
    assert lines[3] == "0 succeeded, 0 failed, 2 submitted, not awaited"


def test_the_end_of_a_sweep_writes_its_html_report_and_names_it(tmp_path, capsys):
    from apps import tasks
    from conftest import APPS

    from flyteplugins.hydra import hydra_sweep

    overrides = ["x=1,2", f"hydra.sweep.dir={tmp_path}"]
    hydra_sweep(tasks.scaled, config_path=str(APPS / "conf"), config_name="app", overrides=overrides, mode="local")
    capsys.readouterr()
    assert sweep_report(tmp_path) == tmp_path / "report.html"
    assert "Best job: #0" in (tmp_path / "report.html").read_text()
    assert capsys.readouterr().out == (
        f"Report: {tmp_path / 'report.html'} (remake it any time: flyte hydra results {tmp_path} --format html)\n"
    )


def test_a_quiet_sweep_writes_its_report_without_a_line(tmp_path, capsys):
    from flyteplugins.hydra._journal import Journal

    Journal(tmp_path).job(JobOutcome(0, ["x=1"], phase="SUCCEEDED", result=RunResult(0.5), started=0.0, finished=1.0))
    assert sweep_report(tmp_path, quiet=True) == tmp_path / "report.html"
    assert capsys.readouterr().out == ""


def test_a_report_that_cannot_be_written_is_a_warning_not_a_failed_sweep(tmp_path, capsys, caplog):
    assert sweep_report(tmp_path / "no-such-sweep") is None
    assert capsys.readouterr().out == ""
    assert "No HTML report for the sweep in" in caplog.text and "there is no flyte_runs.jsonl" in caplog.text
