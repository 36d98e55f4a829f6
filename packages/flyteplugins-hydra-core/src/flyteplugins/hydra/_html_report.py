"""A sweep's report as one self-contained HTML file: header, charts, failures and a sortable job table.

The page is plain HTML with inline SVG charts, one stylesheet and one small script, all written into
the file: it opens from disk with no server, no CDN and no network, and reads (unsorted) even with
scripts off, which is what a sandboxed `flyte.report` tab may do. It needs only the standard library.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from ._report_charts import charts, objective_label
from ._report_model import FINISHED_PHASES, FailureGroup, JobView, SweepView, sweep_view

REPORT_NAME = "report.html"
# Rows the script keeps in the document at a time; report.css hides the rest until it has run (same number).
PAGE_ROWS = 250
# Jobs listed by name under one failure message; a sweep where thousands failed alike lists the first ones.
FAILURE_LINKS = 100


def _asset(name: str) -> str:
    return (resources.files(__package__) / "_report_assets" / name).read_text(encoding="utf-8")


def _when(t: float | None) -> str:
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _span(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    return str(value)


def _href(url: str | None) -> str | None:
    """A link for a run: web URLs as they are, a local run's metadata folder as a file URL."""
    if not url:
        return None
    if url.startswith(("http://", "https://", "file://")):
        return url
    if os.path.isabs(url):
        return Path(url).as_uri()
    return None


def _link(job: JobView, text: str | None = None) -> str:
    href = _href(job.url)
    label = escape(text or job.run_name or (Path(job.url).name if job.url else ""))
    return f'<a href="{escape(href)}">{label}</a>' if href else label


def _phase(phase: str) -> str:
    return f'<span class="phase {escape(phase)}">{escape(phase)}</span>'


def _header(view: SweepView) -> str:
    h = view.header
    task = h.get("task") or h.get("config_name") or "sweep"
    meta = [
        ("task", h.get("task")),
        ("sweep", h.get("id")),
        ("mode", h.get("mode")),
        ("sweeper", h.get("sweeper") if not isinstance(h.get("sweeper"), Mapping) else h["sweeper"].get("name")),
        ("config", h.get("config_name")),
        ("via", h.get("surface")),
        ("started", _when(h.get("time"))),
        ("wall time", _span(view.wall_time) + (" so far" if view.running and view.wall_time is not None else "")),
        ("report made", _when(view.made)),
    ]
    out = [f"<h1>Sweep report: {escape(str(task))}</h1>", '<div class="meta">']
    out += [f"<span>{name} <b>{escape(str(value))}</b></span>" for name, value in meta if value]
    out.append("</div>")
    if view.running:
        unfinished = sum(n for phase, n in view.counts.items() if phase not in FINISHED_PHASES)
        out.append(
            f'<div class="banner" id="running"><b>Still running.</b> {unfinished} of {len(view.jobs)} job(s) had not '
            f"finished when this report was made ({_when(view.made)}); it shows what was known then. Make the "
            "report again for the rest.</div>"
        )
    out.append('<div class="phases">')
    out += [f"{_phase(p)} {n}" for p, n in view.counts.items()]
    out.append(f"<span>{len(view.jobs)} job(s)</span></div>")
    if view.best is not None:
        best = view.best
        word = "highest" if view.direction == "maximize" else "lowest"
        out.append(
            f'<div class="card best" id="best"><b>Best job: #{best.num}</b> ({word} {escape(objective_label(view))}'
            f" <b>{_value(best.objective)}</b>)<br><code>{escape(' '.join(best.overrides) or '(no overrides)')}"
            f"</code><br>{_link(best, best.url or '')}</div>"
        )
    if view.tuple_width is not None:
        out.append(
            f'<p class="note">Each result is a tuple of {view.tuple_width}; the objective is element '
            f"{view.objective_index} (pick another with <code>--objective INDEX</code>, or <code>objective=</code> "
            "in Python).</p>"
        )
    if view.jobs and not view.numeric:
        yet = " yet" if view.running else ""
        out.append(f'<p class="note">No job has a numeric objective{yet}, so there are no charts.</p>')
    if view.fixed:
        out.append(f'<p class="note">Every job also has <code>{escape(" ".join(view.fixed))}</code>.</p>')
    return "\n".join(out)


def _charts(view: SweepView) -> str:
    drawn = charts(view)
    if not drawn:
        return ""
    figures = [f"<figure><figcaption>{escape(title)}</figcaption>{svg}</figure>" for title, svg in drawn]
    better = "higher" if view.direction == "maximize" else "lower"
    legend = (
        '<p class="legend">Each dot or line is a job: hover for its settings, click to find it in the table. '
        "The best job is orange, a red &times; along the bottom is a job that failed; parallel-coordinate "
        f"lines are darker the {better} their objective.</p>"
    )
    return '<h2 id="charts">Charts</h2>' + legend + '<div class="charts">' + "".join(figures) + "</div>"


def _failure(group: FailureGroup) -> str:
    jobs = ", ".join(
        f'<a href="#job-{j.num}">#{j.num}</a>' + (f" ({_link(j, 'run')})" if _href(j.url) else "")
        for j in group.jobs[:FAILURE_LINKS]
    )
    if len(group.jobs) > FAILURE_LINKS:
        jobs += f" and {len(group.jobs) - FAILURE_LINKS:,} more (filter the table by phase to see them all)"
    detail = f"<details><summary>full message</summary><pre>{escape(group.detail)}</pre></details>"
    more = detail if group.detail != group.message else ""
    return (
        f'<div class="card failure"><b>{len(group.jobs)} job(s)</b>: <code>{escape(group.message)}</code>'
        f"<br>{jobs}{more}</div>"
    )


def _failures(view: SweepView) -> str:
    if not view.failures:
        return ""
    return '<h2 id="failures">Failures</h2>' + "".join(_failure(g) for g in view.failures)


def _cell(text: str, sort: float | None = None, numeric: bool = False) -> str:
    attrs = ' class="num"' if numeric else ""
    if sort is not None:
        attrs += f' data-v="{sort!r}"'
    return f"<td{attrs}>{text}</td>"


def _row(view: SweepView, job: JobView) -> str:
    cells = [_cell(f"#{job.num}", job.num, True)]
    for key in view.keys:
        value = job.settings.get(key.name) or ""
        number = job.number(key.name) if key.numeric else None
        shown = f"{number:.6g}" if number is not None and len(value) > 10 else value  # sampled floats: 17 digits
        cells.append(_cell(escape(shown), number, key.numeric))
    cells.append(_cell(escape(job.phase)))
    cells.append(_cell(escape(_value(job.picked)), job.objective, view.numeric))
    if view.tuple_width is not None:
        cells.append(_cell(escape(_value(job.result))))
    cells.append(_cell(_span(job.duration), job.duration, True))
    cells.append(_cell(_link(job)))
    return f'<tr id="job-{job.num}" data-j="{job.num}" data-phase="{escape(job.phase)}">' + "".join(cells) + "</tr>"


def _table(view: SweepView) -> str:
    if not view.jobs:
        return '<h2 id="table">Jobs</h2><p class="note">No job has been recorded yet.</p>'
    columns = [("job", "num")] + [(k.name, "num" if k.numeric else "text") for k in view.keys]
    value = (objective_label(view), "num") if view.numeric else ("result", "text")
    columns += [("phase", "text"), value]
    if view.tuple_width is not None:
        columns.append(("result", "text"))
    columns += [("duration", "num"), ("run", "text")]
    head = "".join(f'<th data-type="{kind}" title="sort" tabindex="0">{escape(name)}</th>' for name, kind in columns)
    options = "".join(f'<option value="{escape(p)}">{escape(p)}</option>' for p in sorted(view.counts))
    tools = (
        '<div class="tools"><input id="filter" type="search" placeholder="filter: any text, e.g. model=vit" '
        f'aria-label="filter jobs"><select id="phase-filter" aria-label="phase"><option value="">every phase</option>'
        f'{options}</select><span id="shown">{len(view.jobs)} of {len(view.jobs)} jobs match</span>'
        '<span id="pager" hidden><button type="button" data-step="-1">&lsaquo; previous</button> '
        '<button type="button" data-step="1">next &rsaquo;</button></span></div>'
    )
    body = "\n".join(_row(view, j) for j in view.jobs)
    return (
        f'<h2 id="table">Jobs</h2>{tools}<div class="table-wrap">'
        f'<table id="jobs" data-page="{PAGE_ROWS}"><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


def _fragment(view: SweepView) -> str:
    """The report as markup for inside another page (a Flyte report tab): styles, content and script, scoped."""
    return (
        f"<style>{_asset('report.css')}</style>"
        '<main class="fh-report" id="fh-report">'
        '<script>document.getElementById("fh-report").classList.add("js")</script>'
        f"{_header(view)}{_charts(view)}{_failures(view)}{_table(view)}</main>"
        f"<script>{_asset('report.js')}</script>"
    )


def page(view: SweepView) -> str:
    """The report as a whole HTML document."""
    title = f"Sweep report: {view.header.get('task') or view.header.get('config_name') or 'sweep'}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(str(title))}</title></head><body style="margin: 0; background: #f6f7f9">'
        f"{_fragment(view)}</body></html>\n"
    )


def render_report(
    header: Mapping[str, Any],
    jobs: Sequence[Mapping[str, Any]],
    *,
    objective: int = 0,
    running: bool | None = None,
    fragment: bool = False,
) -> str:
    """One self-contained HTML page for a sweep, from its journal header and each job's latest record.

    `objective` picks the element of tuple results to chart (the first by default). `running`
    says whether the sweep is still going; by default it is if any job is not in a finished phase.
    `fragment=True` gives the same report without the document around it, for `flyte.report`
    (whose tabs take markup to put inside a `<div>`, not a whole document).

    >>> html = render_report({"task": "train"}, [{"num": 0, "overrides": ["x=1"], "phase": "SUCCEEDED", "result": 0.5}])
    >>> html.startswith("<!DOCTYPE html>") and "Best job: #0" in html
    True
    """
    view = sweep_view(header, jobs, objective=objective, running=running)
    return _fragment(view) if fragment else page(view)


def _sweeper_from_results(sweep_dir: Path) -> str | None:
    """The sweeper a finished sampling sweep names in `optimization_results.yaml` (Optuna writes `name: optuna`).

    Journal headers that predate the `sweeper` field (the launcher's names only surface and config)
    still get their trial-order chart this way, once the sweep is over.
    """
    results = sweep_dir / "optimization_results.yaml"
    if not results.is_file():
        return None
    for line in results.read_text(encoding="utf-8").splitlines():
        if line.startswith("name:"):
            return line.partition(":")[2].strip() or None
    return None


def write_report_from_journal(
    sweep_dir: str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    objective: int = 0,
) -> Path:
    """Write the report of the sweep recorded in `<sweep_dir>/flyte_runs.jsonl`; returns the file written.

    The default file is `<sweep_dir>/report.html`.

    >>> write_report_from_journal("multirun/2026-11-29/14-00-00")  # doctest: +SKIP
    PosixPath('multirun/2026-11-29/14-00-00/report.html')
    """
    from ._journal import read_journal

    state = read_journal(sweep_dir, knob="sweep_dir")
    header = {**state.sweep}
    if not header.get("sweeper"):
        header["sweeper"] = _sweeper_from_results(Path(sweep_dir))
    html = render_report(header, [state.jobs[n] for n in sorted(state.jobs)], objective=objective)
    target = Path(path) if path is not None else Path(sweep_dir) / REPORT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
