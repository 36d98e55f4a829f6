"""Remote mode against the loopback control plane: the unmodified flyte client over the wire."""

from __future__ import annotations

import flyte.remote
import pytest
from apps import tasks
from conftest import APPS, run_script
from google.protobuf import json_format
from omegaconf import OmegaConf

from flyteplugins.hydra import JobFailedError, RunResult, SweepFailedError, hydra_run, hydra_sweep

CONF = str(APPS / "conf")


def submitted_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("Flyte run submitted")]


def primary_container(request) -> dict:
    spec = request.message.task_spec.task_template
    pod = json_format.MessageToDict(spec.k8s_pod.pod_spec)
    return next(c for c in pod["containers"] if c["name"] == spec.config.get("primary_container_name", "primary"))


def test_single_run_returns_value_and_url(flyte_loopback, capsys):
    result = hydra_run(tasks.scaled, config_path=CONF, config_name="app", overrides=["x=4"], mode="remote", scale=3)
    assert isinstance(result, RunResult) and result.value == 12.0 and float(result) == 12.0
    assert result.url.startswith(flyte_loopback.endpoint)
    assert submitted_lines(capsys.readouterr().out) == [f"Flyte run submitted: {result.url}"]


def test_sweep_submits_everything_first_with_one_code_bundle(flyte_loopback, capsys):
    results = hydra_sweep(
        tasks.scaled,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2,3"],
        mode="remote",
        run_options={"name": "exp"},
    )
    assert [r.value for r in results] == [2.0, 4.0, 6.0]
    assert sorted(r.message.run_id.name for r in flyte_loopback.requests("CreateRun")) == ["exp-0", "exp-1", "exp-2"]
    out = capsys.readouterr().out
    lines = out.splitlines()
    submitted = submitted_lines(out)
    assert sorted(submitted) == [f"Flyte run submitted [{i}]: {r.url}" for i, r in enumerate(results)]
    first_finished = next(i for i, line in enumerate(lines) if line.startswith("[1/3]"))
    assert max(lines.index(s) for s in submitted) < first_finished
    counters = flyte_loopback.counters
    assert counters["CreateRun"] == 3
    assert counters["CreateUploadLocation"] == 1 and counters["SignedUrlPut"] == 1


def test_failed_remote_run_is_reported_with_phase_url_and_error(flyte_loopback):
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(tasks.fails_on_two, config_path=CONF, config_name="app", overrides=["x=1,2,3"], mode="remote")
    ok1, bad, ok3 = info.value.outcomes
    assert (ok1.result.value, ok3.result.value) == (1.0, 3.0)
    assert bad.phase == "FAILED" and bad.url.startswith(flyte_loopback.endpoint)
    assert "x=2 is not allowed" in str(bad.error)
    assert f"job #1 [x=2] FAILED {bad.url}" in str(info.value)


def test_hydra_run_raises_for_a_failed_remote_run(flyte_loopback):
    with pytest.raises(JobFailedError, match="x=2 is not allowed"):
        hydra_run(tasks.fails_on_two, config_path=CONF, config_name="app", overrides=["x=2"], mode="remote")


def test_no_wait_returns_run_handles_right_after_submission(flyte_loopback):
    runs = hydra_sweep(
        tasks.scaled, config_path=CONF, config_name="app", overrides=["x=1,2"], mode="remote", wait=False
    )
    assert all(isinstance(r, flyte.remote.Run) for r in runs)
    assert flyte_loopback.counters.get("WatchActionDetails", 0) == 0
    for run in runs:
        run.wait(quiet=True)
    assert [r.outputs()[0] for r in runs] == [2.0, 4.0]


def test_task_env_and_run_options_reach_the_wire(flyte_loopback):
    hydra_run(
        tasks.scaled,
        config_path=CONF,
        config_name="app",
        mode="remote",
        overrides=[
            "+task_env.scaled.resources.cpu='3'",
            "+task_env.scaled.image=ghcr.io/acme/train:1",
            "+task_env.scaled.primary_container_name=main",
        ],
        run_options={"name": "named-run", "service_account": "trainer-sa"},
    )
    (request,) = flyte_loopback.requests("CreateRun")
    assert request.message.run_id.name == "named-run"
    assert request.message.run_spec.security_context.run_as.k8s_service_account == "trainer-sa"
    container = primary_container(request)
    assert container["image"] == "ghcr.io/acme/train:1"
    assert container["resources"]["requests"]["cpu"] == "3"


def test_transient_faults_are_retried(flyte_loopback):
    flyte_loopback.inject_fault("CreateRun", code="unavailable", times=2)
    flyte_loopback.inject_fault("WatchActionDetails", code="drop", times=1)
    results = hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", overrides=["x=1,2"], mode="remote")
    assert [r.value for r in results] == [2.0, 4.0]
    assert flyte_loopback.counters["CreateRun"] == 4


def test_a_job_that_cannot_be_submitted_fails_alone(flyte_loopback):
    flyte_loopback.inject_fault("CreateRun", code="unavailable", times=4)
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(tasks.scaled, config_path=CONF, config_name="app", overrides=["x=1,2,3"], mode="remote")
    first, *rest = info.value.outcomes
    assert not first.ok and first.url is None and "unavailable" in str(first.error).lower()
    assert [o.result.value for o in rest] == [4.0, 6.0]


def test_optuna_over_remote_runs_gets_each_objective(flyte_loopback, tmp_path):
    results = hydra_sweep(
        tasks.objective,
        config_path=CONF,
        config_name="app",
        mode="remote",
        overrides=[
            "hydra/sweeper=optuna",
            "hydra.sweeper.n_trials=4",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.sampler.seed=11",
            "x=interval(0.0,1.0)",
            f"hydra.sweep.dir={tmp_path}",
        ],
    )
    values = [float(r) for r in results]
    assert len(values) == 4 and all(r.url.startswith(flyte_loopback.endpoint) for r in results)
    assert OmegaConf.load(tmp_path / "optimization_results.yaml").best_value == min(values)


def test_launcher_sweep_and_single_run_over_the_wire(flyte_loopback, tmp_path):
    env = {"FLYTECTL_CONFIG": str(flyte_loopback.config_path)}
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "+task=objective",
        "x=0.1,0.5",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=APPS.parent,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(submitted_lines(proc.stdout)) == 2 and "2 succeeded, 0 failed" in proc.stdout
    single = run_script(
        APPS / "hydra_app.py",
        "hydra/launcher=flyte",
        "+task=objective",
        "x=0.5",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=APPS.parent,
        env=env,
    )
    assert single.returncode == 0, single.stderr
    assert len(submitted_lines(single.stdout)) == 1
    assert flyte_loopback.counters["CreateRun"] == 3


def test_launcher_remote_failure_exits_non_zero_after_the_batch(flyte_loopback, tmp_path):
    env = {"FLYTECTL_CONFIG": str(flyte_loopback.config_path)}
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "x=1,2",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=APPS.parent,
        env=env,
    )
    assert proc.returncode != 0
    assert "1 succeeded, 1 failed" in proc.stdout and "x=2 is not allowed" in proc.stderr


def test_launcher_no_wait_prints_urls_and_returns(flyte_loopback, tmp_path):
    env = {"FLYTECTL_CONFIG": str(flyte_loopback.config_path)}
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.wait=false",
        "+task=objective",
        "x=0.1,0.2",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=APPS.parent,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(submitted_lines(proc.stdout)) == 2
    assert flyte_loopback.counters.get("WatchActionDetails", 0) == 0
