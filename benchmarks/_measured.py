"""Run a script as `__main__` and, at exit, write its CPU seconds and peak RSS to `$BENCH_MEASURE_OUT`.

The launcher benchmark runs each sweep in a fresh interpreter through this wrapper, so every run
reports its own peak memory and CPU time (wall time on a shared machine is mostly other people's load).
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import runpy
import sys


def _write() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["BENCH_MEASURE_OUT"], "w") as f:
        json.dump({"cpu_s": usage.ru_utime + usage.ru_stime, "peak_kb": usage.ru_maxrss}, f)


if __name__ == "__main__":
    atexit.register(_write)
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
