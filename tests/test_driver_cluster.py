"""driver=cluster: the whole sweep as one Flyte run whose jobs are its child actions (loopback, nested mode)."""

from __future__ import annotations

import dataclasses
import json
import os
import time
import weakref

import flyte
import flyte.remote
import pytest
from apps import driver_tasks
from cli_support import flyte_cli
from conftest import APPS, peak_concurrency, submit_without_waiting
from omegaconf import OmegaConf

from flyteplugins.hydra import FlyteHydraError, RunResult, Sweep, SweepFailedError, hydra_sweep

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


def test_a_failing_child_fails_only_its_job(nested):
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(
            driver_tasks.square,
            config_path=CONF,
            config_name="app",
            overrides=["x=1,2,3", "+fail_on=2"],
            driver="cluster",
        )

    ok1, bad, ok3 = info.value.outcomes
    assert (ok1.result.value, ok3.result.value) == (1.0, 9.0)
    assert bad.phase == "FAILED" and "x=2 fails on purpose" in str(bad.error)
    assert nested.counters["CreateRun"] == 1


def test_max_parallel_caps_the_children_in_flight(nested, tmp_path):
    spans = tmp_path / "spans"
    results = hydra_sweep(
        driver_tasks.in_flight,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2,3,4", "+hold=3"],
        driver="cluster",
        max_parallel=2,
        folder=str(spans),
    )

    assert [r.value for r in results] == [1, 2, 3, 4]
    intervals = [tuple(map(float, p.read_text().split())) for p in spans.glob("*.span")]
    assert peak_concurrency(intervals) == 2, intervals


def test_max_parallel_with_wait_false_is_allowed_for_the_cluster_driver(nested):
    (handle,) = hydra_sweep(
        driver_tasks.square,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2"],
        driver="cluster",
        max_parallel=1,
        wait=False,
    )

    assert isinstance(handle, flyte.remote.Run)
    assert nested.counters.get("WatchActionDetails", 0) == 0
    handle.wait(quiet=True)
    assert handle.phase.name == "SUCCEEDED"


def test_task_env_of_the_entry_task_is_on_each_child_action(nested):
    hydra_sweep(
        driver_tasks.square,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2", "+task_env={square: {resources: {cpu: '3'}, env_vars: {MODE: swept}}}"],
        driver="cluster",
    )

    for request in nested.requests("EnqueueAction"):
        container = request.message.task.spec.task_template.container
        cpu = {r.name: r.value for r in container.resources.requests}
        assert cpu[1] == "3", container.resources  # ResourceName CPU
        assert {e.key: e.value for e in container.env}["MODE"] == "swept"


def test_optuna_runs_in_the_driver_and_its_best_value_is_the_best_child(nested, tmp_path):
    sweep_dir = tmp_path / "optuna"
    results = hydra_sweep(
        driver_tasks.objective,
        config_path=CONF,
        config_name="app",
        overrides=[
            "hydra/sweeper=optuna",
            "hydra.sweeper.n_trials=6",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.sampler.seed=7",
            "x=interval(-1.0, 1.0)",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        driver="cluster",
    )

    assert len(results) == 6
    assert nested.counters["CreateRun"] == 1 and nested.counters["EnqueueAction"] == 6
    best = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert best.best_value == min(r.value for r in results)
    assert best.name == "optuna" and "x" in best.best_params


def test_wait_false_then_flyte_hydra_wait_from_a_fresh_process(nested, tmp_path):
    sweep_dir, sweep_id = submit_without_waiting(tmp_path, "driver_tasks.square", "x=1,2,3", driver="cluster")

    result = flyte_cli("hydra", "wait", sweep_dir)

    assert result.exit_code == 0, result.output
    assert "3 succeeded, 0 failed" in result.stdout
    values = json.loads(flyte_cli("hydra", "results", sweep_id, "--format", "json").stdout)
    assert [(row["num"], row["value"]) for row in values] == [(0, 1.0), (1, 4.0), (2, 9.0)]
    assert [r.value for r in Sweep.open(sweep_dir).results()] == [1.0, 4.0, 9.0]


def test_aborting_the_sweep_aborts_the_driver_and_its_children(nested, tmp_path):
    pids = tmp_path / "pids"
    sweep_dir, _ = submit_without_waiting(
        tmp_path, "driver_tasks.lingers", "x=1,2", driver="cluster", pid_dir=str(pids)
    )
    deadline = time.monotonic() + 60
    while len(list(pids.glob("*.pid"))) < 2:
        assert time.monotonic() < deadline, "the children never started"
        time.sleep(0.1)
    children = [int(p.read_text()) for p in pids.glob("*.pid")]

    result = flyte_cli("hydra", "abort", sweep_dir)

    assert result.exit_code == 0, result.output
    nested.init_flyte()
    actions = {
        a.name: a.phase.name
        for a in flyte.remote.Action.listall(for_run_name=nested.requests("CreateRun")[0].message.run_id.name)
    }
    assert set(actions.values()) == {"ABORTED"} and len(actions) == 3, actions
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert {o.phase for o in Sweep.open(sweep_dir).status()} == {"ABORTED"}


# -- refused before anything is submitted -------------------------------------------------------


def test_the_cluster_driver_needs_remote_mode():
    with pytest.raises(
        FlyteHydraError, match=r"driver=cluster runs the sweep as a Flyte run on a cluster.*mode=remote"
    ):
        hydra_sweep(driver_tasks.square, config_path=CONF, config_name="app", overrides=["x=1,2"], mode="local",
                    driver="cluster")  # fmt: skip


def test_the_cluster_driver_cannot_rerun_a_journal():
    with pytest.raises(FlyteHydraError, match="rerun_failed works with the local driver only"):
        hydra_sweep(driver_tasks.square, config_path=CONF, config_name="app", overrides=["x=1,2"],
                    rerun_failed="multirun/old", driver="cluster")  # fmt: skip


def test_an_unknown_driver_names_the_choices():
    with pytest.raises(FlyteHydraError, match="driver must be 'local' or 'cluster', got 'moon'"):
        hydra_sweep(driver_tasks.square, config_path=CONF, config_name="app", overrides=["x=1,2"], driver="moon")


def test_a_prebuilt_image_string_is_refused_with_both_ways_out(nested):
    prebuilt = driver_tasks.env.clone_with("prebuilt", image="registry.example/team/train:1")
    task = dataclasses.replace(driver_tasks.square, parent_env=weakref.ref(prebuilt), parent_env_name="prebuilt")

    with pytest.raises(FlyteHydraError, match=r"prebuilt image 'registry.example/team/train:1'") as info:
        hydra_sweep(task, config_path=CONF, config_name="app", overrides=["x=1,2"], driver="cluster")
    assert "flyte.Image.from_base('registry.example/team/train:1')" in str(info.value)
    assert "flyte.Image.from_ref_name" in str(info.value)
    assert nested.counters.get("CreateRun", 0) == 0


def test_an_image_flyte_builds_gets_this_package_added():
    from flyteplugins.hydra._driver_client import driver_image

    built = driver_tasks.env.clone_with("built", image=flyte.Image.from_base("registry.example/team/train:1"))
    task = dataclasses.replace(driver_tasks.square, parent_env=weakref.ref(built), parent_env_name="built")

    image = driver_image(task, "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper")

    packages = [p for layer in image._layers for p in getattr(layer, "packages", None) or ()]
    assert any(p.startswith("flyteplugins-hydra-core==") for p in packages), packages
    assert any(p.startswith("hydra-optuna-sweeper==") for p in packages), packages


def test_task_inputs_that_are_not_json_are_refused(nested):
    with pytest.raises(FlyteHydraError, match=r"The task input 'data' is dict .* cannot travel"):
        hydra_sweep(driver_tasks.counts, config_path=CONF, config_name="app", overrides=["x=1,2"],
                    driver="cluster", data={"a": {1, 2}})  # fmt: skip
    assert nested.counters.get("CreateRun", 0) == 0


def test_a_sampling_sweep_needs_its_config_directory_under_the_root_dir(nested, tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "app.yaml").write_text("x: 0.5\n")

    with pytest.raises(FlyteHydraError, match=r"must travel in the code bundle.*outside flyte's root_dir"):
        hydra_sweep(driver_tasks.objective, config_path=str(conf), config_name="app", driver="cluster",
                    overrides=["hydra/sweeper=optuna", "hydra.sweeper.n_trials=2", "x=interval(0, 1)"])  # fmt: skip
    assert nested.counters.get("CreateRun", 0) == 0
