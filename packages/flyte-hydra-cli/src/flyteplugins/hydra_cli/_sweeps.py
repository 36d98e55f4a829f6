"""`flyte hydra status|wait|results|abort SWEEP`: come back to a sweep from any terminal.

SWEEP is a sweep directory (the folder holding its `flyte_runs.jsonl`) or a sweep id (printed as
`Sweep <id>` when the sweep starts; its runs are found on the cluster by label). The work is done
by `flyteplugins.hydra.Sweep`; this module parses, renders, and sets the exit status.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from ._cli_errors import as_cli_error

if TYPE_CHECKING:
    from flyteplugins.hydra import Sweep

_SWEEP_HELP = "SWEEP is a sweep directory (holding flyte_runs.jsonl) or a sweep id (printed when the sweep started)."


def _sweep_argument(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--domain", help="Flyte domain of the sweep's runs (default: from the Flyte config).")(
        command
    )
    command = click.option("--project", help="Flyte project of the sweep's runs (default: from the Flyte config).")(
        command
    )
    return click.argument("sweep")(command)


def _open(ctx: click.Context, where: str, project: str | None, domain: str | None) -> Sweep:
    """Initialise Flyte from the config as every `flyte` command does, then find the sweep."""
    from flyteplugins.hydra import FlyteHydraError, Sweep

    from ._flyte_compat import initialize_config

    initialize_config(ctx, project, domain)
    try:
        sweep = Sweep.open(where)
    except FlyteHydraError as e:
        raise click.ClickException(str(e)) from e
    note = sweep.note()
    if note:
        click.echo(note, err=True)
    return sweep


def _engine(call: Callable[[], Any]) -> Any:
    with as_cli_error(click.get_current_context()):
        return call()


def _short(value: Any, width: int = 24) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.1f}s"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns; the last one (a URL) is never padded."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1] for row in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines)


def _counts(records: Sequence[dict[str, Any]]) -> str:
    counts = Counter(r["phase"] for r in records)
    return ", ".join(f"{n} {phase}" for phase, n in sorted(counts.items())) or "no jobs"


def _status_text(sweep: Sweep, records: Sequence[dict[str, Any]]) -> str:
    rows = [
        (
            f"#{r['num']}",
            " ".join(r["overrides"]) or "-",
            r["phase"],
            _short(r["value"] if r["error"] is None else r["error"]),
            _duration(r["duration"]),
            r["url"] or "",
        )
        for r in records
    ]
    table = _table(("job", "overrides", "phase", "value", "duration", "url"), rows)
    return f"Sweep {sweep.id or sweep.directory} ({sweep.mode})\n{table}\n{_counts(records)}"


@click.command(help=f"Show each job of a sweep with its phase, fresh from the cluster. {_SWEEP_HELP}")
@_sweep_argument
@click.pass_context
def status(ctx: click.Context, sweep: str, project: str | None, domain: str | None) -> None:
    handle = _open(ctx, sweep, project, domain)
    _engine(handle.status)
    click.echo(_status_text(handle, handle.records()))


def _not_succeeded(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["phase"] != "SUCCEEDED"]


@click.command(
    help="Follow a sweep until every run is terminal, then print the summary; the exit status is non-zero if any "
    f"job did not succeed. Ctrl-C stops following only: the runs keep going. {_SWEEP_HELP}"
)
@_sweep_argument
@click.pass_context
def wait(ctx: click.Context, sweep: str, project: str | None, domain: str | None) -> None:
    handle = _open(ctx, sweep, project, domain)
    try:
        _engine(handle.wait)
    except KeyboardInterrupt:
        click.echo(
            f"\nDetached: the runs keep going on the cluster. Come back with `flyte hydra wait {sweep}`, "
            f"or stop them with `flyte hydra abort {sweep}`.",
            err=True,
        )
        ctx.exit(130)
    failed = _not_succeeded(handle.records())
    if failed:
        lines = [f"{len(failed)} of {len(handle.outcomes)} jobs did not succeed:"]
        lines += [_job_line(r) for r in failed]
        raise click.ClickException("\n".join(lines))


def _job_line(record: dict[str, Any]) -> str:
    return f"  job #{record['num']} [{' '.join(record['overrides'])}] {record['phase']} {record['url'] or ''}".rstrip()


def _swept_keys(records: Sequence[dict[str, Any]]) -> list[str]:
    """One column per overridden key, in the order the keys first appear."""
    keys: dict[str, None] = {}
    for record in records:
        for override in record["overrides"]:
            key, sep, _ = override.partition("=")
            if sep:
                keys.setdefault(key.lstrip("+~"), None)
    return list(keys)


def _swept_values(record: dict[str, Any], keys: Sequence[str]) -> list[str]:
    values = {}
    for override in record["overrides"]:
        key, _, value = override.partition("=")
        values[key.lstrip("+~")] = value
    return [values.get(k, "") for k in keys]


def _cell(value: Any) -> str:
    return "" if value is None else json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _results_json(records: Sequence[dict[str, Any]]) -> str:
    fields = ("num", "overrides", "phase", "value", "url", "run_name")
    return json.dumps([{f: r[f] for f in fields} for r in records], indent=2)


def _results_csv(records: Sequence[dict[str, Any]]) -> str:
    keys = _swept_keys(records)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["num", *keys, "overrides", "phase", "value", "url", "run_name"])
    for r in records:
        row = [r["num"], *_swept_values(r, keys), " ".join(r["overrides"]), r["phase"], _cell(r["value"])]
        writer.writerow([*row, r["url"] or "", r["run_name"] or ""])
    return out.getvalue().rstrip("\n")


def _results_table(records: Sequence[dict[str, Any]]) -> str:
    keys = _swept_keys(records)
    rows = [
        (
            str(r["num"]),
            *_swept_values(r, keys),
            r["phase"],
            _short(_cell(r["value"])),
            r["run_name"] or "",
            r["url"] or "",
        )
        for r in records
    ]
    return _table(("num", *keys, "phase", "value", "run_name", "url"), rows)


# Each format renders the per-job records; a new format (html) is one more entry.
FORMATS: dict[str, Callable[[Sequence[dict[str, Any]]], str]] = {
    "table": _results_table,
    "json": _results_json,
    "csv": _results_csv,
}


@click.command(
    help="Per-job results of a sweep: number, overrides, phase, value, URL, run name; or (--format html) one "
    f"self-contained HTML report with charts. {_SWEEP_HELP}"
)
@_sweep_argument
@click.option("--format", "fmt", type=click.Choice([*FORMATS, "html"]), default="table", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to FILE, not stdout (html: default <sweep dir>/report.html).",
)
@click.option(
    "--objective",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="INDEX",
    help="html: which element of tuple results to chart.",
)
@click.pass_context
def results(
    ctx: click.Context,
    sweep: str,
    project: str | None,
    domain: str | None,
    fmt: str,
    output: str | None,
    objective: int,
) -> None:
    handle = _open(ctx, sweep, project, domain)
    if fmt == "html":
        path = _engine(lambda: handle.report(output, objective=objective))
        click.echo(f"Report: {path}")
        return
    _engine(handle.results)
    text = FORMATS[fmt](handle.records())
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        click.echo(text)


@click.command(help=f"Abort the runs of a sweep that are not yet terminal (all, or those of --job N). {_SWEEP_HELP}")
@_sweep_argument
@click.option("--job", "jobs", type=click.IntRange(min=0), multiple=True, metavar="N", help="Job number (repeatable).")
@click.pass_context
def abort(ctx: click.Context, sweep: str, project: str | None, domain: str | None, jobs: tuple[int, ...]) -> None:
    handle = _open(ctx, sweep, project, domain)
    aborted = _engine(lambda: handle.abort(jobs or None))
    if not aborted:
        click.echo(f"Nothing to abort: every {'chosen ' if jobs else ''}run of the sweep is already terminal.")
        return
    click.echo(f"Aborted {len(aborted)} run(s):")
    for o in aborted:
        click.echo(f"  job #{o.num} [{' '.join(o.overrides)}] {o.url or ''}".rstrip())


COMMANDS: dict[str, click.Command] = {"status": status, "wait": wait, "results": results, "abort": abort}
