"""Runs one `hydra_sweep` in its own process, so tests can interrupt or kill it like a user would.

Usage: python sdk_sweep.py TASK MODE [OVERRIDE ...]; extra keyword arguments come from the
environment variable SWEEP_KWARGS as JSON. TASK is a name in `apps.tasks`, or `module.name` for
another module of `apps`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps import tasks
from flyteplugins.hydra import hydra_sweep

if __name__ == "__main__":
    task_name, mode, *overrides = sys.argv[1:]
    kwargs = json.loads(os.environ.get("SWEEP_KWARGS", "{}"))
    module_name, _, name = task_name.rpartition(".")
    module = importlib.import_module(f"apps.{module_name}") if module_name else tasks
    hydra_sweep(
        getattr(module, name),
        config_path=str(Path(__file__).parent / "conf"),
        config_name="app",
        overrides=overrides,
        mode=mode,
        **kwargs,
    )
