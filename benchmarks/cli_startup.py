"""What `flyte-hydra-cli` adds to `flyte --help`, which imports every CLI plugin to list its commands.

Runs `flyte --help` in fresh interpreters, alternating between the installed entry points and the
same entry points minus ours, and also times loading our entry point alone inside an interpreter
that has already imported flyte's CLI. Prints a table of medians and minimums in milliseconds.

    uv run python benchmarks/cli_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
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


def _wall_ms(code: str, env: dict[str, str], *, lists_hydra: bool) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    elapsed = (time.perf_counter() - start) * 1000
    if (" hydra " in out) != lists_hydra:
        raise SystemExit(f"`flyte --help` {'does not list' if lists_hydra else 'still lists'} the hydra command")
    return elapsed


def _row(name: str, values: list[float]) -> str:
    return f"| {name} | {len(values)} | {statistics.median(values):.1f} | {min(values):.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per variant (default 20)")
    runs = parser.parse_args().runs

    env = {**os.environ, "COLUMNS": "100"}
    hidden_env = {**env, "BENCH_HIDE_PLUGIN": "1"}
    _wall_ms(_FLYTE_HELP, env, lists_hydra=True)  # warm the file-system cache and .pyc files once
    with_plugin, without_plugin = [], []
    for _ in range(runs):  # alternate, so drift in machine load hits both variants alike
        without_plugin.append(_wall_ms(_FLYTE_HELP, hidden_env, lists_hydra=False))
        with_plugin.append(_wall_ms(_FLYTE_HELP, env, lists_hydra=True))
    loads = [
        float(
            subprocess.run(
                [sys.executable, "-c", _ENTRY_POINT_LOAD], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    ]

    added_median = statistics.median(with_plugin) - statistics.median(without_plugin)
    added_min = min(with_plugin) - min(without_plugin)
    print("| measurement | runs | median ms | min ms |")
    print("|---|---|---|---|")
    print(_row("`flyte --help` without flyte-hydra-cli", without_plugin))
    print(_row("`flyte --help` with flyte-hydra-cli", with_plugin))
    print(f"| added by flyte-hydra-cli (difference) | {runs} | {added_median:.1f} | {added_min:.1f} |")
    print(_row("loading the `hydra` entry point in-process", loads))


if __name__ == "__main__":
    main()
