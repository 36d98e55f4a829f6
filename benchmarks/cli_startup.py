"""What `flyte-hydra-cli` adds to `flyte --help`, which imports every CLI plugin to list its commands.

Runs `flyte --help` in fresh interpreters, alternating between the installed entry points and the
same entry points minus ours, and also times loading our entry point alone inside an interpreter
that has already imported flyte's CLI. Prints a table of medians and minimums in milliseconds.

    uv run python benchmarks/cli_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

_OURS = "flyteplugins.hydra_cli"

# A child interpreter: list the installed entry points through a filter that drops ours only when
# asked (so both variants pay for the filter), then run `flyte --help` as the executable does.
_FLYTE_HELP = f"""
import importlib.metadata, os, sys, warnings
from flyte._utils import entry_points as eps
hide = bool(os.environ.get("BENCH_HIDE_PLUGIN"))
everything = importlib.metadata.entry_points()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # Python < 3.12 hands back a dict of groups
    flat = [ep for group in everything.values() for ep in group] if hasattr(everything, "values") else list(everything)
kept = importlib.metadata.EntryPoints(ep for ep in flat if not (hide and ep.value.startswith({_OURS!r})))
eps._installed_entry_points = lambda: kept
from flyte.cli.main import main
sys.argv = ["flyte", "--help"]
main()
"""

# A child interpreter: import flyte's CLI, then time loading our entry point (what `flyte` does per plugin).
_ENTRY_POINT_LOAD = f"""
import time
from flyte.cli.main import main
from flyte._utils.entry_points import entry_points
(ep,) = [ep for ep in entry_points(group="flyte.plugins.cli.commands") if ep.value.startswith({_OURS!r})]
start = time.perf_counter()
command = ep.load()
command.get_short_help_str()
print((time.perf_counter() - start) * 1000)
"""


def _timed(code: str, env: dict[str, str], *, lists_hydra: bool) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one child interpreter."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    wall = (time.perf_counter() - start) * 1000
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime) * 1000
    if (" hydra " in out) != lists_hydra:
        raise SystemExit(f"`flyte --help` {'does not list' if lists_hydra else 'still lists'} the hydra command")
    return wall, cpu


def _row(name: str, values: list[float], cpu: list[float] | None = None) -> str:
    cpu_cell = f"{statistics.median(cpu):.1f}" if cpu else "-"
    return f"| {name} | {len(values)} | {statistics.median(values):.1f} | {min(values):.1f} | {cpu_cell} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per variant (default 20)")
    runs = parser.parse_args().runs

    env = {**os.environ, "COLUMNS": "100"}
    hidden_env = {**env, "BENCH_HIDE_PLUGIN": "1"}
    _timed(_FLYTE_HELP, env, lists_hydra=True)  # warm the file-system cache and .pyc files once
    with_plugin: list[tuple[float, float]] = []
    without_plugin: list[tuple[float, float]] = []
    for _ in range(runs):  # alternate, so drift in machine load hits both variants alike
        without_plugin.append(_timed(_FLYTE_HELP, hidden_env, lists_hydra=False))
        with_plugin.append(_timed(_FLYTE_HELP, env, lists_hydra=True))
    loads = [
        float(
            subprocess.run(
                [sys.executable, "-c", _ENTRY_POINT_LOAD], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    ]

    wall_with, cpu_with = [w for w, _ in with_plugin], [c for _, c in with_plugin]
    wall_without, cpu_without = [w for w, _ in without_plugin], [c for _, c in without_plugin]
    median = statistics.median
    print("| measurement | runs | median wall ms | min wall ms | median CPU ms |")
    print("|---|---|---|---|---|")
    print(_row("`flyte --help` without flyte-hydra-cli", wall_without, cpu_without))
    print(_row("`flyte --help` with flyte-hydra-cli", wall_with, cpu_with))
    print(
        f"| added by flyte-hydra-cli (with minus without) | {runs} | {median(wall_with) - median(wall_without):.1f} | "
        f"{min(wall_with) - min(wall_without):.1f} | {median(cpu_with) - median(cpu_without):.1f} |"
    )
    print(_row("loading the `hydra` entry point in-process", loads))


if __name__ == "__main__":
    main()
