"""driver=cluster: the whole sweep as one Flyte run whose jobs are its child actions (loopback, nested mode)."""

from __future__ import annotations

import pytest
from apps import driver_tasks
from conftest import APPS

from flyteplugins.hydra import RunResult, hydra_sweep

CONF = str(APPS / "conf")


@pytest.fixture
def nested(flyte_loopback):
    flyte_loopback.nested = True
    return flyte_loopback


def test_grid_sweep_is_one_run_with_a_child_action_per_job(nested, capsys):
    results = hydra_sweep(
        driver_tasks.square, config_path=CONF, config_name="app", overrides=["x=1,2,3"], driver="cluster"
    )

    assert [r.value for r in results] == [1.0, 4.0, 9.0]
    assert all(isinstance(r, RunResult) for r in results)
    assert nested.counters["CreateRun"] == 1
    children = nested.requests("EnqueueAction")
    assert sorted(r.message.group for r in children) == ["#0 x=1", "#1 x=2", "#2 x=3"]
    out = capsys.readouterr().out
    assert "3 succeeded, 0 failed" in out


def test_each_job_names_its_child_action(nested):
    results = hydra_sweep(
        driver_tasks.square, config_path=CONF, config_name="app", overrides=["x=1,2"], driver="cluster"
    )

    enqueued = {r.message.group: r.message.action_id.name for r in nested.requests("EnqueueAction")}
    assert [r.action for r in results] == [enqueued["#0 x=1"], enqueued["#1 x=2"]]
