"""hydra.launcher.driver=cluster: a `@hydra.main` app's whole sweep as one driver run (loopback, nested mode).

The client submits one run; inside it the app's sweep runs with Hydra's sweeper and our launcher, and each
job's `flyte.run` creates a run that Flyte records as spawned by the driver run.
"""

from __future__ import annotations

import pytest
from conftest import APPS, run_script


@pytest.fixture
def nested(flyte_loopback):
    flyte_loopback.nested = True
    return flyte_loopback


def driven(server, tmp_path, *overrides: str, timeout: float = 120):
    """Run `apps/driver_app.py --multirun` with the cluster driver against `server`."""
    return run_script(
        APPS / "driver_app.py", "--multirun", "hydra/launcher=flyte", "hydra.launcher.driver=cluster",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", *overrides,
        cwd=APPS.parent, env={"FLYTECTL_CONFIG": str(server.config_path)}, timeout=timeout,
    )  # fmt: skip


def spawned_by(server, driver: str) -> list:
    """The CreateRun requests of runs spawned by run `driver`, oldest first."""
    return [r for r in server.requests("CreateRun") if r.message.run_spec.relation.related_to.name == driver]


def test_a_grid_sweep_is_one_driver_run_that_spawns_a_run_per_job(nested, tmp_path):
    proc = driven(nested, tmp_path, "x=1,2,3")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    first, *jobs = nested.requests("CreateRun")
    driver = first.message.run_id.name
    assert len(jobs) == 3 and len(spawned_by(nested, driver)) == 3
    assert "3 succeeded, 0 failed" in proc.stdout
