"""Reports of real sweeps, opened from disk in headless Chromium with the network off.

Each test makes a real sweep (local grid, local Optuna, local with failures, remote against the
loopback control plane and not awaited), writes its report, and checks in the browser: nothing but
the file itself was requested, no console error, the charts drew, the table sorts and filters. A
screenshot of each lands in `test-artifacts/` (git-ignored) for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from apps import tasks
from browser import ARTIFACTS, Page, chromium, chromium_binary
from conftest import APPS

from flyteplugins.hydra import SweepFailedError, hydra_sweep
from flyteplugins.hydra._html_report import write_report_from_journal

CONF = str(APPS / "conf")
CHARTS = """Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  return [svg.getAttribute('aria-label'), box.width > 0 && box.height > 0, svg.querySelectorAll('[data-j]').length];
})"""


@pytest.fixture(autouse=True)
def needs_chromium() -> None:
    """Skip (or, under CI, fail) before making a sweep that no browser will look at."""
    chromium_binary()


def column(page: Page, name: str) -> list[str]:
    """The cells of a table column that are laid out (not hidden, not paged away), top to bottom."""
    return page.evaluate(
        f"""(() => {{
          const i = Array.from(document.querySelectorAll('#jobs th')).findIndex(th => th.textContent === {name!r});
          return Array.from(document.querySelectorAll('#jobs tbody tr')).filter(r => r.getClientRects().length)
            .map(r => r.cells[i].textContent);
        }})()"""
    )


def opened(browser, report: Path, shot: str) -> Page:
    """Open a report offline, check it loaded cleanly, and keep its screenshot."""
    page = browser.new_page()
    page.open(report)
    assert page.evaluate("document.getElementById('fh-report').dataset.ready") == "1"
    assert page.requests == [report.resolve().as_uri()]
    assert page.errors == []
    page.screenshot(ARTIFACTS / f"{shot}.png")
    return page


def sort_by(page: Page, name: str) -> None:
    page.click(f"#jobs th:nth-child({column_index(page, name) + 1})")


def column_index(page: Page, name: str) -> int:
    return page.evaluate(
        f"Array.from(document.querySelectorAll('#jobs th')).findIndex(th => th.textContent === {name!r})"
    )


def numbers(cells: list[str]) -> list[float]:
    return [float(c) for c in cells if c]


def test_grid_sweep_report_in_a_browser(in_examples, tmp_path):
    import train

    sweep_dir = tmp_path / "grid"
    hydra_sweep(
        train.pipeline,
        config_path="conf",
        config_name="training",
        overrides=["optimizer.lr=0.001,0.01,0.1", "model=resnet,vit", f"hydra.sweep.dir={sweep_dir}"],
        mode="local",
        dataset="imagenet",
    )
    report = write_report_from_journal(sweep_dir)
    with chromium() as browser:
        page = opened(browser, report, "grid")
        charts = page.evaluate(CHARTS)
        assert charts == [
            ["objective against optimizer.lr", True, 6],
            ["objective for each model", True, 6],
            ["parallel coordinates over the swept keys", True, 6],
        ]
        sort_by(page, "objective")
        ascending = numbers(column(page, "objective"))
        assert len(ascending) == 6 and ascending == sorted(ascending)
        best = page.evaluate("document.querySelector('#best b').textContent")
        assert best == f"Best job: {column(page, 'job')[0]}"
        sort_by(page, "objective")
        assert numbers(column(page, "objective")) == sorted(ascending, reverse=True)
        sort_by(page, "model")
        assert column(page, "model") == ["resnet"] * 3 + ["vit"] * 3
        page.evaluate(f"document.querySelectorAll('#jobs th')[{column_index(page, 'optimizer.lr')}].focus()")
        page.press("Enter")
        assert column(page, "optimizer.lr") == ["0.001"] * 2 + ["0.01"] * 2 + ["0.1"] * 2


def test_optuna_sweep_report_plots_trials_and_the_running_best(tmp_path):
    sweep_dir = tmp_path / "optuna"
    hydra_sweep(
        tasks.objective,
        config_path=CONF,
        config_name="app",
        mode="local",
        overrides=[
            "hydra/sweeper=optuna",
            "hydra.sweeper.n_trials=10",
            "hydra.sweeper.sampler.seed=7",
            "x=interval(0.0,1.0)",
            "name=choice(a,b)",
            f"hydra.sweep.dir={sweep_dir}",
        ],
    )
    report = write_report_from_journal(sweep_dir)
    with chromium() as browser:
        page = opened(browser, report, "optuna")
        charts = page.evaluate(CHARTS)
        assert [label for label, _, _ in charts] == [
            "objective against x",
            "objective for each name",
            "parallel coordinates over the swept keys",
            "objective by trial, with the best so far",
        ]
        assert all(drawn and marks == 10 for _, drawn, marks in charts)
        steps = page.evaluate("document.querySelector('polyline.running-best').points.numberOfItems")
        assert steps >= 10
        page.hover("svg.chart circle.best")
        tip = page.evaluate("(() => { const t = document.querySelector('.tip'); return [t.hidden, t.textContent]; })()")
        assert tip[0] is False and tip[1].startswith("job: #")
        sort_by(page, "x")
        xs = numbers(column(page, "x"))
        assert xs == sorted(xs) and len(xs) == 10


def test_report_of_a_sweep_with_failures_groups_them_and_filters_by_phase(tmp_path):
    sweep_dir = tmp_path / "failing"
    with pytest.raises(SweepFailedError):
        hydra_sweep(
            tasks.fails_on_two,
            config_path=CONF,
            config_name="app",
            overrides=["x=1,2,3", "name=a,b", f"hydra.sweep.dir={sweep_dir}"],
            mode="local",
        )
    report = write_report_from_journal(sweep_dir)
    with chromium() as browser:
        page = opened(browser, report, "failures")
        groups = page.evaluate(
            "Array.from(document.querySelectorAll('.failure')).map(g => [g.querySelector('code').textContent,"
            " Array.from(g.querySelectorAll('a[href^=\"#job-\"]')).map(a => a.textContent)])"
        )
        assert groups == [["RuntimeUserError: x=2 is not allowed", ["#2", "#3"]]]
        assert [marks for _, _, marks in page.evaluate(CHARTS)] == [6, 6, 4]  # key charts mark the 2 failed jobs
        assert page.evaluate("Array.from(document.querySelectorAll('path.fail')).map(p => p.dataset.j)") == [
            "2",
            "3",
            "2",
            "3",
        ]
        page.evaluate(
            "(() => { const s = document.getElementById('phase-filter'); s.value = 'FAILED';"
            " s.dispatchEvent(new Event('change')); })()"
        )
        assert column(page, "job") == ["#2", "#3"]
        assert page.evaluate("document.getElementById('shown').textContent") == "2 of 6 jobs match"
        page.type("#filter", "name=b")
        assert column(page, "job") == ["#3"]


def test_report_of_a_remote_sweep_still_running_says_so(flyte_loopback, tmp_path):
    """Submitted and not awaited: every job is SUBMITTED in the journal, which is what the report shows."""
    sweep_dir = tmp_path / "remote"
    runs = hydra_sweep(
        tasks.scaled,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2,3", f"hydra.sweep.dir={sweep_dir}"],
        mode="remote",
        wait=False,
    )
    report = write_report_from_journal(sweep_dir)
    with chromium() as browser:
        page = opened(browser, report, "remote-running")
        banner = page.evaluate("document.getElementById('running').textContent")
        assert banner.startswith("Still running. 3 of 3 job(s) had not finished")
        assert page.evaluate(CHARTS) == []
        links = page.evaluate("Array.from(document.querySelectorAll('#jobs tbody a')).map(a => a.href)")
        assert links == [r.url for r in runs] and all(u.startswith(flyte_loopback.endpoint) for u in links)
        assert column(page, "phase") == ["SUBMITTED"] * 3
        sort_by(page, "job")
        sort_by(page, "job")
        assert column(page, "job") == ["#2", "#1", "#0"]
    for run in runs:
        run.wait(quiet=True)


# flyte 2.12's Report.get_final_report opens its page template and never closes it.
@pytest.mark.filterwarnings("ignore:unclosed file .*_template.html:ResourceWarning")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <_io.FileIO name=.*_template.html:pytest.PytestUnraisableExceptionWarning"
)
def test_the_report_works_inside_a_flyte_report_tab(tmp_path):
    """What the cluster-side driver will publish: the fragment, in flyte.report's own page template."""
    import flyte.report

    from flyteplugins.hydra._html_report import render_report
    from flyteplugins.hydra._journal import read_journal

    sweep_dir = tmp_path / "grid"
    hydra_sweep(
        tasks.scaled,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2,3", f"hydra.sweep.dir={sweep_dir}"],
        mode="local",
    )
    state = read_journal(sweep_dir)
    report = flyte.report.Report("sweep")
    report.get_tab("sweep").replace(render_report(state.sweep, list(state.jobs.values()), fragment=True))
    page_file = tmp_path / "flyte-report.html"
    page_file.write_text(report.get_final_report())
    with chromium() as browser:
        page = browser.new_page()
        page.open(page_file)
        assert page.evaluate("document.getElementById('fh-report').dataset.ready") == "1"
        theirs = [u for u in page.requests if u != page_file.resolve().as_uri()]
        assert all(u.startswith("https://fonts.googleapis.com/") for u in theirs)  # flyte's template, not ours
        assert [e for e in page.errors if "net::ERR_" not in e] == []
        assert [marks for _, _, marks in page.evaluate(CHARTS)] == [3, 3]
        sort_by(page, "objective")
        sort_by(page, "objective")
        assert column(page, "job") == ["#2", "#1", "#0"]
        page.screenshot(ARTIFACTS / "flyte-report-tab.png")


def test_a_big_table_is_paged_and_sorts_across_every_page(tmp_path):
    """600 jobs journaled by the real Journal: one page of 250 rows at a time, sorting and chart clicks span all."""
    from flyteplugins.hydra._journal import Journal
    from flyteplugins.hydra._outcome import JobOutcome, RunResult

    journal = Journal(tmp_path)
    journal.sweep(surface="sdk", config_name="app", task="scaled")
    for num in range(600):
        value = RunResult(float((num * 37) % 600))
        journal.job(
            JobOutcome(num, [f"x={num}", f"name={'ab'[num % 2]}"], "SUCCEEDED", result=value, started=0, finished=1)
        )
    report = write_report_from_journal(tmp_path)
    with chromium() as browser:
        page = opened(browser, report, "paged")
        assert column(page, "job")[:2] == ["#0", "#1"] and len(column(page, "job")) == 250
        shown = page.evaluate("document.getElementById('shown').textContent")
        assert shown == "600 of 600 jobs match; rows 1\u2013250 shown"
        page.click("#pager [data-step='1']")
        assert column(page, "job")[0] == "#250"
        sort_by(page, "objective")
        assert numbers(column(page, "objective"))[:3] == [0.0, 1.0, 2.0]
        page.click("svg.chart circle[data-j='599']")
        assert page.evaluate("document.querySelector('#jobs tr.hl').id") == "job-599"


def test_with_scripts_off_every_row_and_chart_still_shows(tmp_path):
    """A viewer that blocks scripts (a sandboxed report tab) still gets the whole table and every chart."""
    from flyteplugins.hydra._journal import Journal
    from flyteplugins.hydra._outcome import JobOutcome, RunResult

    journal = Journal(tmp_path)
    journal.sweep(surface="sdk", config_name="app")
    for num in range(300):
        journal.job(JobOutcome(num, [f"x={num % 30}", f"name={'ab'[num % 2]}"], "SUCCEEDED", result=RunResult(num)))
    report = write_report_from_journal(tmp_path)
    with chromium() as browser:
        page = browser.new_page()
        page.send("Emulation.setScriptExecutionDisabled", value=True)
        page.open(report)
        assert page.evaluate("document.getElementById('fh-report').dataset.ready") is None  # the script did not run
        assert len(column(page, "job")) == 300
        assert [drawn for _, drawn, _ in page.evaluate(CHARTS)] == [True, True, True]
        assert page.errors == []
        page.screenshot(ARTIFACTS / "scripts-off.png")
