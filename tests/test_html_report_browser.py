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
from browser import ARTIFACTS, Page, chromium
from conftest import APPS

from flyteplugins.hydra import SweepFailedError, hydra_sweep
from flyteplugins.hydra._html_report import write_report_from_journal

CONF = str(APPS / "conf")
CHARTS = """Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  return [svg.getAttribute('aria-label'), box.width > 0 && box.height > 0, svg.querySelectorAll('[data-j]').length];
})"""


def column(page: Page, name: str) -> list[str]:
    """The visible cells of a table column, top to bottom."""
    return page.evaluate(
        f"""(() => {{
          const i = Array.from(document.querySelectorAll('#jobs th')).findIndex(th => th.textContent === {name!r});
          return Array.from(document.querySelectorAll('#jobs tbody tr')).filter(r => !r.hidden)
            .map(r => r.cells[i].textContent);
        }})()"""
    )


def opened(browser, report: Path, shot: str) -> Page:
    """Open a report offline, check it loaded cleanly, and keep its screenshot."""
    page = browser.new_page()
    page.open(report)
    assert page.evaluate("document.documentElement.dataset.ready") == "1"
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
        assert [marks for _, _, marks in page.evaluate(CHARTS)] == [4, 4, 4]
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
