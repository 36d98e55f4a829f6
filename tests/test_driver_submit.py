"""driver=cluster submission: the client composes a grid sweep and checks every job before the one CreateRun."""

from __future__ import annotations

import pytest
from apps import driver_tasks
from conftest import APPS

from flyteplugins.hydra import FlyteHydraError, hydra_sweep

CONF = str(APPS / "conf")


def test_a_bad_task_env_in_any_job_is_refused_before_the_driver_is_submitted(flyte_loopback, tmp_path):
    flyte_loopback.nested = True

    with pytest.raises(FlyteHydraError, match=r"cpu.*lots"):
        hydra_sweep(
            driver_tasks.square,
            config_path=CONF,
            config_name="app",
            overrides=["x=1,2", "+task_env.square.resources.cpu=2,lots", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
            driver="cluster",
        )
    assert flyte_loopback.counters.get("CreateRun", 0) == 0
    assert not (tmp_path / "sweep" / "flyte_runs.jsonl").exists(), "nothing may be journaled"
