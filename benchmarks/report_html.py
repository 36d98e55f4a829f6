"""Benchmark: the HTML report of a 10,000-job sweep: file size, time to write it, time until it is usable.

The journal is written by the real `Journal` from `JobOutcome`s (no 10,000 Flyte runs needed): a grid
over a log-spaced learning rate, a model choice and an epoch count, 2% failures, remote run URLs.
Headless Chromium then opens the file offline over the DevTools protocol (the client the browser
tests use) and times the load, a sort of the objective column and a filter. Targets: < 10 MB, and
usable (loaded, script done) in < 3 s.

uv run python benchmarks/report_html.py
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import TESTS, table

JOBS = 10_000
SETTLED = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"


def write_journal(sweep_dir: Path) -> None:
    from flyteplugins.hydra._journal import Journal
    from flyteplugins.hydra._outcome import JobOutcome, RunResult

    journal = Journal(sweep_dir)
    journal.sweep(surface="sdk", config_name="training", task="pipeline", id="bench", mode="remote")
    lrs = [10 ** (-4 + 3 * i / 24) for i in range(25)]
    num = 0
    for lr in lrs:
        for model in ("resnet", "vit", "convnext", "mlp"):
            for epochs in range(10, 110):
                loss = (math.log10(lr) + 2.3) ** 2 + 1 / epochs + 0.01 * len(model)
                failed = num % 50 == 7
                journal.job(
                    JobOutcome(
                        num,
                        [f"optimizer.lr={lr:.6g}", f"model={model}", f"training.epochs={epochs}"],
                        phase="FAILED" if failed else "SUCCEEDED",
                        url=f"https://flyte.example.com/v2/runs/project/p/domain/d/r{num:05d}",
                        result=None if failed else RunResult(round(loss, 6)),
                        error=RuntimeError("OOMKilled: the pod ran out of memory") if failed else None,
                        started=1_800_000_000.0 + num,
                        finished=1_800_000_030.0 + num * 1.01,
                    )
                )
                num += 1


def main() -> str:
    sys.path.insert(0, str(TESTS))
    from browser import Chromium, chromium_binary

    from flyteplugins.hydra._html_report import write_report_from_journal

    work = Path(tempfile.mkdtemp(prefix="report-bench-"))
    try:
        write_journal(work)
        start = time.perf_counter()
        report = write_report_from_journal(work)
        write_s = time.perf_counter() - start
        size_mb = report.stat().st_size / 1e6
        browser = Chromium(chromium_binary())
        try:
            page = browser.new_page()
            page.open(report, timeout=60)
            ready = page.evaluate(
                f"(async () => {{ await {SETTLED}; return [document.getElementById('fh-report').dataset.ready,"
                " performance.getEntriesByType('navigation')[0].loadEventEnd, performance.now()]; })()"
            )
            assert ready[0] == "1" and not page.errors, page.errors
            sort_ms = page.evaluate(
                "(async () => { const th = Array.from(document.querySelectorAll('#jobs th'))"
                ".find(h => h.textContent === 'objective'); const t = performance.now(); th.click();"
                f" return (await {SETTLED}) - t; }})()"
            )
            filter_ms = page.evaluate(
                "(async () => { const f = document.getElementById('filter'); const t = performance.now();"
                " f.value = 'model=vit'; f.dispatchEvent(new Event('input'));"
                f" return (await {SETTLED}) - t; }})()"
            )
            shown = page.evaluate("document.getElementById('shown').textContent")
        finally:
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return table(
        f"HTML report, {JOBS:,}-job sweep (3 swept keys, 2% failed)",
        ["measure", "figure", "target"],
        [
            ["report file size", f"{size_mb:.1f} MB", "< 10 MB"],
            ["writing it (read journal, render)", f"{write_s:.2f} s", "-"],
            ["Chromium: navigation to load event", f"{ready[1] / 1000:.2f} s", "-"],
            ["Chromium: usable (script done, two frames painted)", f"{ready[2] / 1000:.2f} s", "< 3 s"],
            ["sort by objective, to next paint", f"{sort_ms:.0f} ms", "-"],
            [f"filter 'model=vit' ({shown}), to next paint", f"{filter_ms:.0f} ms", "-"],
        ],
    )


if __name__ == "__main__":
    print(main())
