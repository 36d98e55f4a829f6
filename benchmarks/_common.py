"""Helpers shared by the benchmarks: timing, tables, and the walkthrough app on the import path."""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "examples"
TESTS = ROOT / "tests"


def use_walkthrough() -> None:
    """Import the walkthrough app and the test tasks, and work from the walkthrough folder."""
    for path in (str(EXAMPLES), str(TESTS)):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.chdir(EXAMPLES)


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of_both(repeats: int, fn: Callable[[], object]) -> tuple[float, float]:
    """The fastest of `repeats` runs of `fn`, as (wall seconds, CPU seconds of this process, all threads)."""
    runs = []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - start, time.process_time() - cpu))
    return min(runs)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [f"## {title}", ""]
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells[1:]]
    return "\n".join(lines) + "\n"


def trivial_local_sweep(jobs: int, sweep_dir: str) -> None:
    """A quiet local `hydra_sweep` of the do-nothing test task over the walkthrough config."""
    import io
    from contextlib import redirect_stdout

    from apps import tasks

    from flyteplugins.hydra import hydra_sweep

    with redirect_stdout(io.StringIO()):
        hydra_sweep(
            tasks.trivial,
            config_path="conf",
            config_name="training",
            overrides=[f"training.epochs=range(0,{jobs})", f"hydra.sweep.dir={sweep_dir}"],
            mode="local",
        )


class SubmissionClock(io.StringIO):
    """Captured output that notes when the last `Flyte run submitted` line was written."""

    def __init__(self) -> None:
        super().__init__()
        self.last_submitted = 0.0

    def write(self, text: str) -> int:
        if "Flyte run submitted" in text:
            self.last_submitted = time.perf_counter()
        return super().write(text)
