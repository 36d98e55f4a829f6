"""hydra.launcher.driver=cluster: a `@hydra.main` app's whole sweep as one driver run (loopback, nested mode).

The client submits one run; inside it the app's sweep runs with Hydra's sweeper and our launcher, and each
job's `flyte.run` creates a run that Flyte records as spawned by the driver run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time

import pytest
from cli_support import flyte_cli
from conftest import APPS, peak_concurrency, run_script
from omegaconf import OmegaConf

from flyteplugins.hydra import Sweep


@pytest.fixture
def nested(flyte_loopback):
    flyte_loopback.nested = True
    return flyte_loopback


def driven(server, sweep_dir, *overrides: str):
    """Run `apps/driver_app.py --multirun` with the cluster driver against `server`, as a user does."""
    return run_script(
        APPS / "driver_app.py", "--multirun", "hydra/launcher=flyte", "hydra.launcher.driver=cluster",
        f"hydra.sweep.dir={sweep_dir}", *overrides,
        cwd=APPS.parent, env={"FLYTECTL_CONFIG": str(server.config_path)}, timeout=240,
    )  # fmt: skip


def driver_and_jobs(server) -> tuple[str, list]:
    """The one run the client created (the driver) and the CreateRun requests of the runs it spawned."""
    driver, *others = server.requests("CreateRun")
    name = driver.message.run_id.name
    assert driver.message.run_spec.relation.related_to.name == "", "the driver is the client's own run"
    jobs = [r for r in others if r.message.run_spec.relation.related_to.name == name]
    assert len(jobs) == len(others), "every other run was spawned by the driver"
    return name, jobs


def test_a_grid_sweep_is_one_driver_run_that_spawns_a_run_per_job(nested, tmp_path):
    proc = driven(nested, tmp_path / "sweep", "x=1,2,3")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    driver, jobs = driver_and_jobs(nested)
    assert len(jobs) == 3
    assert "3 succeeded, 0 failed" in proc.stdout
    nested.init_flyte()
    results = Sweep.open(tmp_path / "sweep").results()
    assert [r.value for r in results] == [1.0, 4.0, 9.0]
    assert sorted(r.action for r in results) == sorted(set(nested.runs()) - {driver}), "each job names its run"


def test_optuna_runs_in_the_driver_and_its_best_value_is_the_best_job(nested, tmp_path):
    proc = driven(
        nested, tmp_path / "optuna", "+task=objective", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=6",
        "hydra.sweeper.n_jobs=2", "hydra.sweeper.sampler.seed=7", "x=interval(-1.0, 1.0)",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, jobs = driver_and_jobs(nested)
    assert len(jobs) == 6
    rows = json.loads(flyte_cli("hydra", "results", str(tmp_path / "optuna"), "--format", "json").stdout)
    assert len(rows) == 6
    best = OmegaConf.load(tmp_path / "optuna" / "optimization_results.yaml")
    assert best.best_value == min(row["value"] for row in rows)
    assert best.name == "optuna" and "x" in best.best_params


def test_a_failing_job_fails_only_itself_and_the_app_exits_non_zero(nested, tmp_path):
    proc = driven(nested, tmp_path / "sweep", "x=1,2,3", "+fail_on=2")

    assert proc.returncode != 0
    assert "2 succeeded, 1 failed" in proc.stdout, proc.stdout + proc.stderr
    nested.init_flyte()
    ok1, bad, ok3 = Sweep.open(tmp_path / "sweep").status()
    assert (ok1.result.value, ok3.result.value) == (1.0, 9.0)
    assert bad.phase == "FAILED" and "x=2 fails on purpose" in str(bad.error)


def test_fail_fast_inside_the_driver_starts_no_job_after_the_first_failure(nested, tmp_path):
    proc = driven(
        nested, tmp_path / "sweep", "x=1,2,3", "+fail_on=1", "hydra.launcher.max_parallel=1",
        "hydra.launcher.fail_fast=true",
    )  # fmt: skip

    assert proc.returncode != 0
    _, jobs = driver_and_jobs(nested)
    assert len(jobs) == 1, "only the failing job's run was started"
    nested.init_flyte()
    phases = [o.phase for o in Sweep.open(tmp_path / "sweep").status()]
    assert phases == ["FAILED", "CANCELLED", "CANCELLED"], proc.stdout


def test_max_parallel_caps_the_job_runs_in_flight_inside_the_driver(nested, tmp_path):
    proc = driven(
        nested, tmp_path / "sweep", "+task=in_flight", "x=1,2,3,4", "+hold=2", "hydra.launcher.max_parallel=2",
        f"+inputs={{folder: {tmp_path / 'spans'}}}",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, jobs = driver_and_jobs(nested)
    assert len(jobs) == 4
    intervals = [tuple(map(float, p.read_text().split())) for p in (tmp_path / "spans").glob("*.span")]
    assert peak_concurrency(intervals) == 2, intervals


def test_task_env_of_the_entry_task_is_on_each_job_run(nested, tmp_path):
    proc = driven(
        nested, tmp_path / "sweep", "x=1,2", "+task_env={square: {resources: {cpu: '3'}, env_vars: {MODE: swept}}}"
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, jobs = driver_and_jobs(nested)
    assert len(jobs) == 2
    for request in jobs:
        container = request.message.task_spec.task_template.container
        assert {r.name: r.value for r in container.resources.requests}[1] == "3", container.resources  # CPU
        assert {e.key: e.value for e in container.env}["MODE"] == "swept"


def test_wait_false_returns_at_once_and_flyte_hydra_wait_finishes_it_from_a_fresh_process(nested, tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = driven(nested, sweep_dir, "x=1,2", "hydra.launcher.wait=false")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"flyte hydra wait {sweep_dir}" in proc.stdout
    assert nested.counters.get("WatchActionDetails", 0) == 0
    result = flyte_cli("hydra", "wait", str(sweep_dir))

    assert result.exit_code == 0, result.output
    assert "2 succeeded, 0 failed" in result.stdout
    rows = json.loads(flyte_cli("hydra", "results", str(sweep_dir), "--format", "json").stdout)
    assert [(row["num"], row["value"]) for row in rows] == [(0, 1.0), (1, 4.0)]


def test_an_optuna_study_can_be_left_to_the_driver_with_wait_false(nested, tmp_path):
    sweep_dir = tmp_path / "optuna"
    proc = driven(
        nested, sweep_dir, "+task=objective", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=4",
        "hydra.sweeper.n_jobs=2", "x=interval(-1.0, 1.0)", "hydra.launcher.wait=false",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"flyte hydra wait {sweep_dir}" in proc.stdout
    result = flyte_cli("hydra", "wait", str(sweep_dir))

    assert result.exit_code == 0, result.output
    assert "4 succeeded, 0 failed" in result.stdout
    assert len(driver_and_jobs(nested)[1]) == 4


def _ends_within(pid: int, seconds: float) -> bool:
    """Whether process `pid` is gone within `seconds` (a killed process lingers until its parent reaps it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_aborting_the_sweep_aborts_the_driver_and_the_job_runs_it_started(nested, tmp_path):
    sweep_dir, pids = tmp_path / "sweep", tmp_path / "pids"
    proc = driven(
        nested, sweep_dir, "+task=lingers", "x=1,2", "hydra.launcher.wait=false", f"+inputs={{pid_dir: {pids}}}"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    deadline = time.monotonic() + 90
    while len(list(pids.glob("*.pid"))) < 2:
        assert time.monotonic() < deadline, "the job runs never started"
        time.sleep(0.2)
    job_pids = [int(p.read_text()) for p in pids.glob("*.pid")]

    result = flyte_cli("hydra", "abort", str(sweep_dir))

    assert result.exit_code == 0, result.output
    driver, jobs = driver_and_jobs(nested)
    runs = nested.runs()
    assert runs.pop(driver) == "ABORTED"
    assert len(jobs) == 2 and list(runs.values()) == ["ABORTED", "ABORTED"], runs
    assert nested.still_running() == []
    for pid in job_pids:
        assert _ends_within(pid, 10), f"job process {pid} still runs after the abort"


def test_the_readme_launcher_example_runs_as_written(nested, tmp_path):
    from conftest import EXAMPLES, ROOT

    section = (ROOT / "README.md").read_text().split("### `@hydra.main` apps: `hydra.launcher.driver=cluster`", 1)[1]
    (block,) = re.findall(r"```bash\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    cd, command = block.strip().splitlines()
    assert cd == "cd examples"
    _, script, *args = shlex.split(command)

    proc = run_script(
        EXAMPLES / script, *args, f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=EXAMPLES,
        env={"FLYTECTL_CONFIG": str(nested.config_path)}, timeout=240,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 succeeded, 0 failed" in proc.stdout
    _, jobs = driver_and_jobs(nested)
    assert len(jobs) == 2


# -- the image ----------------------------------------------------------------------------------


def test_the_driver_runs_in_the_configured_default_image(flyte_loopback):
    from flyteplugins.hydra._driver_app import app_driver_image

    flyte_loopback.init_flyte()  # its config names image_refs.default

    assert app_driver_image(None) == "auto"


def test_without_a_default_image_the_driver_gets_flytes_base_with_our_packages():
    from flyteplugins.hydra._driver_app import app_driver_image

    image = app_driver_image("hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper")

    packages = [p for layer in image._layers for p in getattr(layer, "packages", None) or ()]
    for distribution in ("flyteplugins-hydra-core==", "hydra-flyte-launcher==", "hydra-optuna-sweeper=="):
        assert any(p.startswith(distribution) for p in packages), packages


# -- refused before anything is submitted -------------------------------------------------------


def test_an_app_outside_flytes_root_dir_is_refused(flyte_loopback, tmp_path):
    proc = run_script(
        APPS / "driver_app.py", "--multirun", "hydra/launcher=flyte", "hydra.launcher.driver=cluster", "x=1,2",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path,
    )  # fmt: skip

    assert proc.returncode != 0
    assert "runs the app" in proc.stderr and "outside flyte's root_dir" in proc.stderr, proc.stderr
    assert "must travel in the code bundle" in proc.stderr
    assert flyte_loopback.counters.get("CreateRun", 0) == 0


def test_a_config_directory_outside_flytes_root_dir_is_refused(flyte_loopback, tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "app.yaml").write_text("x: 1\n")

    proc = run_script(
        APPS / "driver_app.py", "--multirun", f"--config-path={conf}", "hydra/launcher=flyte",
        "hydra.launcher.driver=cluster", "x=1,2", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=APPS.parent,
    )  # fmt: skip

    assert proc.returncode != 0
    assert f"{conf} is outside flyte's root_dir" in proc.stderr, proc.stderr
    assert flyte_loopback.counters.get("CreateRun", 0) == 0
