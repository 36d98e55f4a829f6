"""Run every benchmark, each in a fresh interpreter, and print their tables.

uv run python benchmarks/run.py            # all of them
uv run python benchmarks/run.py memory     # some of them, by module name
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALL = [
    "sweep_local",
    "parallel_local",
    "multirun_launcher",
    "sweep_remote",
    "driver_cluster",
    "remote_scale",
    "cli_startup",
    "memory",
    "report_html",
]


def main(names: list[str]) -> int:
    failed = 0
    for name in names or ALL:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"## {name}\n\n(not present)\n")
            continue
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
        if proc.returncode:
            failed += 1
            print(f"## {name}\n\nfailed:\n{proc.stderr[-2000:]}\n")
        else:
            print(proc.stdout[proc.stdout.find("## ") :] if "## " in proc.stdout else proc.stdout)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
