"""The report's charts as inline SVG, drawn here in Python so they show with no script, library or network.

Every mark carries `data-j` (its job number): the page's small script turns that into a tooltip and
a jump to the job's table row, and without the script the charts still read. Coordinates are
rounded to one decimal so a 10,000-job sweep stays a few megabytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from ._report_model import FINISHED_PHASES, SUCCEEDED, JobView, Key, SweepView

Scale = Callable[[float], float]

# Past this many lines parallel coordinates are an unreadable blob that costs seconds to paint: draw the best ones.
PARALLEL_LINES = 1000
_VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
_W, _H = 330, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 14, 14, 40


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.2g}"
    return f"{value:.4g}"


def colour(t: float) -> str:
    """Viridis at `t` in [0, 1]: perceptually even and readable in grey and by most colour-blind readers.

    The scale stops short of viridis's last, pale yellow, which barely shows on a white page.
    """
    t = min(1.0, max(0.0, t)) * 0.85 * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    r, g, b = (round(a + (b - a) * f) for a, b in zip(_VIRIDIS[i], _VIRIDIS[i + 1]))
    return f"#{r:02x}{g:02x}{b:02x}"


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        return [10.0**e for e in range(first, last + 1) if lo <= 10.0**e <= hi] or [lo, hi]
    if hi == lo:
        return [lo]
    raw = (hi - lo) / 5
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if raw <= step * m)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _scale(lo: float, hi: float, a: float, b: float, log: bool = False) -> Scale:
    """Map [lo, hi] onto pixels [a, b]; a flat range maps to the middle."""
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi == lo:
        return lambda _v: (a + b) / 2
    k = (b - a) / (hi - lo)
    if log:
        return lambda v: a + (math.log10(v) - lo) * k
    return lambda v: a + (v - lo) * k


def _padded(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    return lo - pad, hi + pad


def _jitter(num: int) -> float:
    """A fixed offset in [-0.5, 0.5) per job, so a strip plot looks the same every time it is made."""
    return (num * 0.6180339887) % 1 - 0.5


def _svg(width: int, height: int, label: str, body: Sequence[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>"
    )


def _y_axis(y: Scale, lo: float, hi: float, label: str) -> list[str]:
    out = [f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_H - _BOTTOM}"/>']
    for tick in _ticks(lo, hi, False):
        py = y(tick)
        out.append(f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{py:.1f}" y2="{py:.1f}"/>')
        out.append(f'<text class="tick" x="{_LEFT - 5}" y="{py + 3:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    out.append(
        f'<text class="label" transform="translate(12 {(_TOP + _H - _BOTTOM) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(label)}</text>'
    )
    return out


def _x_label(label: str) -> str:
    x = (_LEFT + _W - _RIGHT) / 2
    return f'<text class="label" x="{x:.0f}" y="{_H - 6}" text-anchor="middle">{escape(label)}</text>'


def _x_tick(x: float, text: str) -> str:
    return f'<text class="tick" x="{x:.1f}" y="{_H - _BOTTOM + 14}" text-anchor="middle">{escape(text)}</text>'


def _x_axis() -> str:
    return f'<line class="axis" x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" y2="{_H - _BOTTOM}"/>'


def _point(job: JobView, x: float, y: float, best: JobView | None) -> str:
    """One job's dot; size and colour come from the stylesheet (`.pts circle`), which keeps big charts small."""
    cls = ' class="best"' if job is best else ""
    return f'<circle{cls} data-j="{job.num}" cx="{x:.1f}" cy="{y:.1f}"/>'


def _points(dots: list[str]) -> str:
    """A chart's dots, fainter the more there are, so dense regions read darker instead of as one solid blot."""
    opacity = max(0.15, min(0.7, 20 / math.sqrt(max(1, len(dots)))))
    return f'<g class="pts" style="--dot-opacity: {opacity:.2f}">' + "".join(dots) + "</g>"


def _failed(view: SweepView, key: Key) -> list[JobView]:
    """Jobs that ended without a result: marked along the bottom of a key's chart, where they failed."""
    return [j for j in view.jobs if j.phase in FINISHED_PHASES and j.phase != SUCCEEDED and key.name in j.settings]


def _cross(job: JobView, x: float) -> str:
    y = _H - _BOTTOM - 5
    return f'<path class="fail" data-j="{job.num}" d="M{x - 3:.1f} {y - 3:.1f}l6 6m0 -6l-6 6"/>'


def _objective_axis(view: SweepView) -> tuple[Scale, float, float]:
    lo, hi = _padded([j.objective for j in view.scored])
    return _scale(lo, hi, _H - _BOTTOM, _TOP), lo, hi


def objective_label(view: SweepView) -> str:
    if view.tuple_width is None:
        return "objective"
    return f"objective (element {view.objective_index})"


def scatter(view: SweepView, key: Key) -> str:
    """The objective against a numeric key, one dot per job."""
    jobs = [j for j in view.scored if j.number(key.name) is not None]
    xs = [j.number(key.name) for j in jobs]
    y, ylo, yhi = _objective_axis(view)
    log = key.log_scale
    xlo, xhi = (min(xs), max(xs)) if log else _padded(xs)
    if log:
        xlo, xhi = xlo / 1.3, xhi * 1.3
    x = _scale(xlo, xhi, _LEFT, _W - _RIGHT, log)
    body = _y_axis(y, ylo, yhi, objective_label(view))
    body.append(_x_axis())
    for tick in _ticks(xlo, xhi, log):
        px = x(tick)
        body.append(_x_tick(px, _fmt(tick)))
    body.append(_x_label(key.name + (" (log scale)" if log else "")))
    body.append(_points([_point(j, x(v), y(j.objective), view.best) for j, v in zip(jobs, xs)]))
    for job in _failed(view, key):
        value = job.number(key.name)
        if value is not None and xlo <= value <= xhi:
            body.append(_cross(job, x(value)))
    return _svg(_W, _H, f"objective against {key.name}", body)


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        pos = q * (len(ordered) - 1)
        i = int(pos)
        return ordered[i] + (ordered[min(i + 1, len(ordered) - 1)] - ordered[i]) * (pos - i)

    return at(0.25), at(0.5), at(0.75)


def strip(view: SweepView, key: Key) -> str:
    """The objective for each choice of a key: a box (quartiles, median, range) and every job as a dot."""
    y, ylo, yhi = _objective_axis(view)
    band = (_W - _RIGHT - _LEFT) / len(key.values)
    failed = _failed(view, key)
    body = _y_axis(y, ylo, yhi, objective_label(view))
    body.append(_x_axis())
    for i, choice in enumerate(key.values):
        centre = _LEFT + band * (i + 0.5)
        jobs = [j for j in view.scored if j.settings.get(key.name) == choice]
        body.append(_x_tick(centre, choice[:18]))
        body += [_cross(j, centre + _jitter(j.num) * band * 0.5) for j in failed if j.settings[key.name] == choice]
        if not jobs:
            continue
        body.append(_points([_point(j, centre + _jitter(j.num) * band * 0.5, y(j.objective), view.best) for j in jobs]))
        values = [j.objective for j in jobs]
        q1, med, q3 = _quartiles(values)
        half = min(band * 0.3, 40)  # the box goes over the dots, so it still shows when thousands of dots fill its band
        body.append(
            f'<line class="whisker" x1="{centre:.1f}" x2="{centre:.1f}" y1="{y(min(values)):.1f}" '
            f'y2="{y(max(values)):.1f}"/>'
        )
        body.append(
            f'<rect class="box" x="{centre - half:.1f}" y="{y(q3):.1f}" width="{2 * half:.1f}" '
            f'height="{max(1.0, y(q1) - y(q3)):.1f}"/>'
        )
        body.append(
            f'<line class="median" x1="{centre - half:.1f}" x2="{centre + half:.1f}" '
            f'y1="{y(med):.1f}" y2="{y(med):.1f}"/>'
        )
    body.append(_x_label(key.name))
    return _svg(_W, _H, f"objective for each {key.name}", body)


def _axis_scale(key: Key, top: float, bottom: float) -> Callable[[str | None], float | None]:
    """Where a value of `key` sits on its parallel-coordinates axis (None for a job without the key)."""
    if key.numeric:
        numbers = [float(v) for v in key.values]
        to_px = _scale(min(numbers), max(numbers), bottom, top, key.log_scale)
        return lambda v: None if v is None else to_px(float(v))
    slots = {v: i for i, v in enumerate(key.values)}
    slot_px = _scale(0, max(1, len(key.values) - 1), bottom, top)
    return lambda v: None if v not in slots else slot_px(slots[v])


def _axis_marks(key: Key) -> list[tuple[str, str]]:
    """(label, value) pairs to print beside an axis: every choice, or a numeric key's ends or decades."""
    if not key.numeric:
        return [(v[:16], v) for v in key.values]
    lo, hi = float(key.values[0]), float(key.values[-1])
    marks = _ticks(lo, hi, True) if key.log_scale else sorted({lo, hi})
    return [(_fmt(m), repr(m)) for m in marks]


def parallel_jobs(view: SweepView) -> list[JobView]:
    """The jobs parallel coordinates draw: all of them, or the best `PARALLEL_LINES`, worst first (best on top)."""
    ranked = sorted(view.scored, key=lambda j: j.objective, reverse=view.direction == "minimize")
    return ranked[-PARALLEL_LINES:]


def parallel(view: SweepView) -> str:
    """Every scored job as one line across an axis per swept key and the objective, coloured by objective."""
    width, height, top, bottom = 780, 300, 30, 262
    count = len(view.keys) + 1
    left, right = 70, width - 70
    xs = [left + (right - left) * i / max(1, count - 1) for i in range(count)]
    scales = [_axis_scale(k, top, bottom) for k in view.keys]
    objectives = [j.objective for j in view.scored]
    olo, ohi = min(objectives), max(objectives)
    oy = _scale(olo, ohi, bottom, top)
    shade = _scale(olo, ohi, 0.0, 1.0)
    good_is_low = view.direction == "minimize"
    drawn = parallel_jobs(view)
    opacity = max(0.08, min(0.7, 40 / max(1, len(drawn))))
    body: list[str] = [f'<g class="lines" stroke-opacity="{opacity:.2f}">']
    best_line = ""
    for job in drawn:
        ys = [s(job.settings.get(k.name)) for s, k in zip(scales, view.keys)] + [oy(job.objective)]
        if any(v is None for v in ys):
            continue
        t = shade(job.objective)
        points = " ".join(f"{x:.1f},{yv:.1f}" for x, yv in zip(xs, ys))
        stroke = colour(t if good_is_low else 1 - t)
        if job is view.best:
            best_line = f'<polyline class="best" data-j="{job.num}" points="{points}"/>'
        else:
            body.append(f'<polyline data-j="{job.num}" stroke="{stroke}" points="{points}"/>')
    body += ["</g>", best_line]
    names = [k.name for k in view.keys] + [objective_label(view)]
    for x, name in zip(xs, names):
        body.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}"/>')
        body.append(f'<text class="label" x="{x:.1f}" y="{top - 12}" text-anchor="middle">{escape(name)}</text>')
    for x, key, to_px in zip(xs, view.keys, scales):
        for label, value in _axis_marks(key):
            py = to_px(value)
            if py is not None:
                body.append(f'<text class="tick" x="{x + 5:.1f}" y="{py + 3:.1f}">{escape(label)}</text>')
    for value in sorted({olo, ohi}):
        body.append(f'<text class="tick" x="{xs[-1] + 5:.1f}" y="{oy(value) + 3:.1f}">{_fmt(value)}</text>')
    return _svg(width, height, "parallel coordinates over the swept keys", body)


def trials(view: SweepView) -> str:
    """A sampling sweeper's progress: the objective of each trial in order, and the best so far as a step line."""
    jobs = view.scored
    y, ylo, yhi = _objective_axis(view)
    nums = [j.num for j in jobs]
    x = _scale(min(nums) - 0.5, max(nums) + 0.5, _LEFT, _W - _RIGHT)
    body = _y_axis(y, ylo, yhi, objective_label(view))
    body.append(_x_axis())
    for tick in _ticks(min(nums), max(nums), False):
        if float(tick).is_integer():
            body.append(_x_tick(x(tick), f"{tick:.0f}"))
    body.append(_x_label("trial (job number)"))
    better = (lambda a, b: a > b) if view.direction == "maximize" else (lambda a, b: a < b)
    best: float | None = None
    steps: list[str] = []
    for job in jobs:
        value = job.objective
        if best is None or better(value, best):
            if best is not None:
                steps.append(f"{x(job.num):.1f},{y(best):.1f}")
            best = value
        steps.append(f"{x(job.num):.1f},{y(best):.1f}")
    body.append(f'<polyline class="running-best" points="{" ".join(steps)}"/>')
    body.append(_points([_point(j, x(j.num), y(j.objective), view.best) for j in jobs]))
    return _svg(_W, _H, "objective by trial, with the best so far", body)


def charts(view: SweepView) -> list[tuple[str, str]]:
    """Each chart the sweep calls for, as (title, svg); none when no job has a numeric objective."""
    if not view.numeric:
        return []
    out = [
        (f"{objective_label(view)} against {k.name}", scatter(view, k) if k.numeric else strip(view, k))
        for k in view.keys
    ]
    if view.keys:
        scored = len(view.scored)
        shown = min(scored, PARALLEL_LINES)
        title = "parallel coordinates" + (f" (the best {shown:,} of {scored:,} jobs)" if shown < scored else "")
        out.append((title, parallel(view)))
    if view.sampled:
        out.append(("objective by trial, with the best so far", trials(view)))
    return out
