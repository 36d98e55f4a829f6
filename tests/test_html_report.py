"""The sweep HTML report's content, read from the page text: what it shows for each kind of sweep."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from apps import tasks
from conftest import APPS

from flyteplugins.hydra import ConfigurationError, hydra_sweep
from flyteplugins.hydra._html_report import render_report, write_report_from_journal


def job(num: int, *overrides: str, phase: str = "SUCCEEDED", result=None, error=None, url=None, took=None) -> dict:
    started = 1000.0 + num
    return {
        "num": num,
        "overrides": list(overrides),
        "phase": phase,
        "result": result,
        "error": error,
        "url": url,
        "run_name": None,
        "started": started,
        "finished": None if took is None else started + took,
        "time": started,
    }


GRID = [
    job(0, "lr=0.001", "model=resnet", "+seed=1", result=0.9, took=2.0),
    job(1, "lr=0.001", "model=vit", "+seed=1", result=0.7, took=3.0),
    job(2, "lr=0.1", "model=resnet", "+seed=1", result=0.2, took=4.0),
    job(3, "lr=0.1", "model=vit", "+seed=1", result=0.4, took=5.0),
]


def columns(html: str) -> list[str]:
    return re.findall(r'<th data-type="\w+" title="sort" tabindex="0">([^<]*)</th>', html)


def figures(html: str) -> list[str]:
    return re.findall(r"<figcaption>([^<]*)</figcaption>", html)


def test_the_report_is_one_file_that_fetches_nothing():
    html = render_report({"task": "train"}, GRID)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"<(script|img|link|iframe|source)\b[^>]*\b(src|href)=", html)
    assert "@import" not in html and "url(" not in html
    assert "<style>" in html and "<script>" in html


def test_keys_that_vary_become_columns_and_shared_overrides_are_named_once():
    html = render_report({}, GRID)
    assert columns(html) == ["job", "lr", "model", "phase", "objective", "duration", "run"]
    assert "Every job also has <code>seed=1</code>" in html


def test_the_table_is_in_the_page_itself_so_it_reads_without_scripts():
    html = render_report({}, GRID)
    rows = re.findall(r'<tr id="job-(\d+)" data-j="\d+" data-phase="(\w+)">', html)
    assert rows == [("0", "SUCCEEDED"), ("1", "SUCCEEDED"), ("2", "SUCCEEDED"), ("3", "SUCCEEDED")]
    assert '<td class="num" data-v="4.0">4.0 s</td>' in html


def test_header_shows_task_sweep_id_mode_counts_and_wall_time():
    header = {"task": "pipeline", "id": "swp-42", "mode": "remote", "config_name": "training", "time": 1000.0}
    failed = job(4, "lr=0.5", "model=vit", "+seed=1", phase="FAILED", error="E: x", took=1)
    html = render_report(header, [*GRID, failed])
    assert "<h1>Sweep report: pipeline</h1>" in html
    for shown in ("sweep <b>swp-42</b>", "mode <b>remote</b>", "config <b>training</b>", "wall time <b>8.0 s</b>"):
        assert shown in html
    assert '<span class="phase SUCCEEDED">SUCCEEDED</span> 4' in html
    assert '<span class="phase FAILED">FAILED</span> 1' in html


def test_a_header_without_the_newer_fields_still_makes_a_report():
    html = render_report({"surface": "launcher", "config_name": "training"}, GRID)
    assert "<h1>Sweep report: training</h1>" in html and "sweep <b>" not in html


def test_best_job_is_the_lowest_objective_with_its_overrides_and_url():
    jobs = [*GRID[:2], {**GRID[2], "url": "http://cp/runs/r2"}, GRID[3]]
    html = render_report({}, jobs)
    best = re.search(r'<div class="card best" id="best">(.*?)</div>', html).group(1)
    assert "Best job: #2" in best and "lowest objective <b>0.2</b>" in best
    assert "lr=0.1 model=resnet +seed=1" in best and 'href="http://cp/runs/r2"' in best


def test_best_job_is_the_highest_when_the_sweeper_maximizes():
    html = render_report({"sweeper": {"name": "optuna", "direction": "maximize"}}, GRID)
    assert "Best job: #0</b> (highest objective <b>0.9</b>)" in html


def test_numeric_keys_get_a_scatter_choices_a_box_plot_and_all_keys_parallel_coordinates():
    html = render_report({}, GRID)
    assert figures(html) == ["objective against lr", "objective against model", "parallel coordinates"]
    assert "lr (log scale)" in html  # 0.001 to 0.1 spans two decades
    linear = [job(i, f"lr={lr}", result=float(i)) for i, lr in enumerate(("0.01", "0.05", "0.1"))]
    assert "lr (log scale)" not in render_report({}, linear)
    assert html.count('<rect class="box"') == 2
    assert html.count('<polyline class="best" data-j="2"') == 1


def test_a_sampling_sweeper_adds_the_objective_by_trial_with_the_running_best():
    optuna = render_report({"sweeper": "optuna"}, GRID)
    from_overrides = render_report({"overrides": ["hydra/sweeper=optuna", "x=interval(0,1)"]}, GRID)
    search_space = render_report({"overrides": ["x=interval(0,1)", "name=a,b"]}, GRID)  # the basic sweeper refuses it
    grid = render_report({"sweeper": "basic", "overrides": ["lr=0.001,0.1", "model=resnet,vit"]}, GRID)
    title = "objective by trial, with the best so far"
    assert title in figures(optuna) and title in figures(from_overrides) and title in figures(search_space)
    assert title not in figures(grid) and title not in figures(render_report({}, GRID))
    assert '<polyline class="running-best"' in optuna


def test_tuple_results_chart_the_first_element_by_default():
    jobs = [job(i, f"x={i}", result=[10 - i, f"ckpt-{i}"]) for i in range(3)]
    html = render_report({}, jobs)
    assert columns(html) == ["job", "x", "phase", "objective (element 0)", "result", "duration", "run"]
    assert "Best job: #2" in html and "<td>(8, ckpt-2)</td>" in html
    assert "Each result is a tuple of 2; the objective is element 0" in html


def test_objective_picks_another_tuple_element():
    jobs = [job(i, f"x={i}", result=[i, 5.0 - i, "tag"]) for i in range(3)]
    assert "Best job: #0" in render_report({}, jobs, objective=0)
    assert "Best job: #2" in render_report({}, jobs, objective=1)


def test_a_non_numeric_objective_gives_the_table_and_no_charts():
    jobs = [job(i, f"x={i}", result=[i, f"tag-{i}"]) for i in range(2)]
    html = render_report({}, jobs, objective=1)
    assert figures(html) == [] and "no charts" in html and "<td>tag-1</td>" in html


def test_an_objective_past_the_tuple_end_names_the_valid_indexes():
    jobs = [job(0, "x=1", result=[1, 2])]
    with pytest.raises(ConfigurationError, match=r"objective=2: .*tuples of 2 element\(s\); pick an index from 0 to 1"):
        render_report({}, jobs, objective=2)


def test_an_objective_index_for_single_valued_results_is_refused():
    with pytest.raises(ConfigurationError, match=r"objective=1: .*single values, not tuples.*Leave the objective at 0"):
        render_report({}, GRID, objective=1)


def test_any_objective_index_is_accepted_before_a_job_has_succeeded():
    html = render_report({}, [job(0, "x=1", phase="RUNNING"), job(1, "x=2", phase="SUBMITTED")], objective=1)
    assert "Still running" in html


def test_a_negative_objective_index_is_refused():
    with pytest.raises(ConfigurationError, match=r"objective=-1: give the index of a tuple element, counting from 0"):
        render_report({}, [job(0, "x=1", result=[1, 2])], objective=-1)


def test_failures_are_grouped_by_message_and_list_their_jobs():
    jobs = [
        job(0, "x=1", result=1.0),
        job(1, "x=2", phase="FAILED", error="RuntimeUserError: x=2 is not allowed\nTraceback ...", url="http://cp/r1"),
        job(2, "x=2", phase="FAILED", error="RuntimeUserError: x=2 is not allowed\nTraceback ..."),
        job(3, "x=3", phase="FAILED", error="OOMKilled: out of memory"),
        job(4, "x=4", phase="ABORTED"),
    ]
    html = render_report({}, jobs)
    pattern = r'<div class="card failure"><b>(\d+) job\(s\)</b>: <code>([^<]*)</code><br>(.*?)</div>'
    groups = re.findall(pattern, html, re.DOTALL)
    assert [(n, message) for n, message, _ in groups] == [
        ("2", "RuntimeUserError: x=2 is not allowed"),
        ("1", "OOMKilled: out of memory"),
        ("1", "ABORTED (no error message was recorded)"),
    ]
    assert re.findall(r'href="#job-(\d+)"', groups[0][2]) == ["1", "2"]
    assert 'href="http://cp/r1"' in groups[0][2] and "<details>" in groups[0][2]


def test_a_sweep_with_unfinished_jobs_says_it_is_still_running_and_shows_what_is_known():
    jobs = [job(0, "x=1", result=0.5, took=2), job(1, "x=2", phase="RUNNING"), job(2, "x=3", phase="SUBMITTED")]
    html = render_report({"mode": "remote"}, jobs)
    assert "<b>Still running.</b> 2 of 3 job(s) had not finished" in html
    assert "Best job: #0" in html and " so far</b>" in html
    assert "Still running" not in render_report({}, jobs, running=False)
    assert "Still running" in render_report({}, GRID, running=True)


def test_text_from_the_journal_is_escaped():
    jobs = [job(0, "name=<script>alert(1)</script>", result=1.0), job(1, "name=b&c", phase="FAILED", error="E: <b>")]
    html = render_report({"task": "<img src=x>"}, jobs)
    assert "<script>alert" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "b&amp;c" in html and "E: &lt;b&gt;" in html


def test_local_runs_link_to_their_folder_and_remote_runs_to_their_url():
    jobs = [job(0, "x=1", result=1.0, url="/tmp/flyte/metadata/run-0"), job(1, "x=2", result=2.0, url="https://cp/r")]
    html = render_report({}, jobs)
    assert '<a href="file:///tmp/flyte/metadata/run-0">run-0</a>' in html and '<a href="https://cp/r">' in html


def sweep_dir_of_a_real_grid_sweep(tmp_path: Path) -> Path:
    sweep_dir = tmp_path / "sweep"
    hydra_sweep(
        tasks.scaled,
        config_path=str(APPS / "conf"),
        config_name="app",
        overrides=["x=1,2,3", "name=a,b", f"hydra.sweep.dir={sweep_dir}"],
        mode="local",
    )
    return sweep_dir


def test_report_from_a_real_sweep_journal_goes_to_report_html_in_the_sweep_dir(tmp_path):
    sweep_dir = sweep_dir_of_a_real_grid_sweep(tmp_path)
    written = write_report_from_journal(sweep_dir)
    assert written == sweep_dir / "report.html"
    html = written.read_text()
    assert columns(html) == ["job", "x", "name", "phase", "objective", "duration", "run"]
    assert len(re.findall(r'<tr id="job-', html)) == 6 and "Best job: #0" in html
    assert "Still running" not in html


def test_report_path_and_objective_can_be_given(tmp_path):
    sweep_dir = sweep_dir_of_a_real_grid_sweep(tmp_path)
    target = tmp_path / "out" / "mine.html"
    assert write_report_from_journal(sweep_dir, target) == target and target.is_file()
    with pytest.raises(ConfigurationError, match="objective=3"):
        write_report_from_journal(sweep_dir, target, objective=3)


def test_a_folder_without_a_journal_is_refused_with_what_to_point_at(tmp_path):
    with pytest.raises(ConfigurationError, match=r"sweep_dir=.*there is no flyte_runs.jsonl in that folder"):
        write_report_from_journal(tmp_path)


def test_a_journal_with_no_jobs_yet_gives_a_report_saying_so(tmp_path):
    (tmp_path / "flyte_runs.jsonl").write_text(json.dumps({"sweep": {"task": "t", "time": 1.0}}) + "\n")
    html = write_report_from_journal(tmp_path).read_text()
    assert "No job has been recorded yet." in html


def test_parallel_coordinates_of_a_big_sweep_draw_the_best_thousand_and_say_so():
    jobs = [job(i, f"x={i}", f"y={i % 7}", result=float(i)) for i in range(1200)]
    html = render_report({}, jobs)
    assert "parallel coordinates (the best 1,000 of 1,200 jobs)" in figures(html)
    lines = re.findall(r'<polyline (?:class="best" )?data-j="(\d+)"', html)
    assert len(lines) == 1000 and max(int(n) for n in lines) == 999


def test_the_fragment_for_a_flyte_report_tab_is_the_report_without_the_document():
    fragment = render_report({"task": "train"}, GRID, fragment=True)
    assert not re.search(r"<!DOCTYPE|<html|<head|<body", fragment)
    assert fragment.startswith("<style>") and '<main class="fh-report" id="fh-report">' in fragment


def test_a_failure_shared_by_many_jobs_lists_the_first_hundred():
    jobs = [job(i, f"x={i}", phase="FAILED", error="OOMKilled") for i in range(130)]
    html = render_report({}, jobs)
    assert "<b>130 job(s)</b>: <code>OOMKilled</code>" in html
    assert html.count('href="#job-') == 100 and "and 30 more (filter the table by phase" in html
