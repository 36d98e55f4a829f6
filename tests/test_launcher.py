"""`hydra/launcher=flyte` driving real `@hydra.main` apps in fresh interpreters, in local mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import APPS, EXAMPLES, run_script
from omegaconf import OmegaConf

LOCAL = ["--multirun", "hydra/launcher=flyte", "hydra.launcher.mode=local"]


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted((p for p in sweep_dir.iterdir() if p.is_dir()), key=lambda p: int(p.name))


def test_single_job_writes_hydra_snapshot_and_log(tmp_path):
    proc = run_script(EXAMPLES / "train.py", *LOCAL, f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (job,) = job_dirs(tmp_path / "sweep")
    assert job.name == "0"
    assert {p.name for p in (job / ".hydra").iterdir()} == {"config.yaml", "hydra.yaml", "overrides.yaml"}
    assert (job / "train.log").exists()
    hydra_cfg = OmegaConf.load(job / ".hydra" / "hydra.yaml")
    assert hydra_cfg.hydra.job.num == 0 and hydra_cfg.hydra.job.id == "0"


def test_grid_sweep_runs_every_job_in_order(tmp_path):
    proc = run_script(
        EXAMPLES / "train.py",
        *LOCAL,
        "optimizer.lr=0.001,0.1",
        "model=resnet,vit",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    overrides = [list(OmegaConf.load(d / ".hydra" / "overrides.yaml")) for d in job_dirs(tmp_path / "sweep")]
    assert overrides == [
        ["optimizer.lr=0.001", "model=resnet"],
        ["optimizer.lr=0.001", "model=vit"],
        ["optimizer.lr=0.1", "model=resnet"],
        ["optimizer.lr=0.1", "model=vit"],
    ]
    table = proc.stdout[proc.stdout.index("job  overrides") :]
    assert "4 succeeded, 0 failed" in table
    assert [line.split()[0] for line in table.splitlines()[1:5]] == ["#0", "#1", "#2", "#3"]


def test_failed_job_is_reported_and_the_others_still_run(tmp_path):
    proc = run_script(APPS / "hydra_app.py", *LOCAL, "x=1,2,3", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert proc.returncode != 0
    assert "x=2 is not allowed" in proc.stderr
    assert "2 succeeded, 1 failed" in proc.stdout
    assert "#1   x=2        FAILED" in proc.stdout
    assert [d.name for d in job_dirs(tmp_path / "sweep")] == ["0", "1", "2"]


def test_bad_mode_stops_before_any_job(tmp_path):
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=cloud",
        "x=1,2",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "hydra.launcher.mode must be 'local' or 'remote', got 'cloud'" in proc.stderr
    assert not (tmp_path / "sweep" / "0").exists()


def test_remote_without_endpoint_stops_before_any_job(tmp_path):
    marker = tmp_path / "ran"
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "+task=touch_marker",
        f"+marker={marker}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "Remote mode needs a Flyte endpoint" in proc.stderr
    assert not marker.exists()
    assert not (tmp_path / "sweep" / "0").exists()


def test_local_mode_stays_local_with_an_endpoint_configured(tmp_path, unreachable_endpoint_config):
    marker = tmp_path / "ran"
    proc = run_script(
        APPS / "hydra_app.py",
        *LOCAL,
        "+task=touch_marker",
        f"+marker={marker}",
        f"hydra.sweep.dir={tmp_path / 's'}",
        cwd=tmp_path,
        env={"FLYTECTL_CONFIG": str(unreachable_endpoint_config)},
    )
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text() == "ran"


def test_optuna_receives_each_trial_objective(tmp_path):
    log = tmp_path / "evaluations.txt"
    proc = run_script(
        APPS / "hydra_app.py",
        *LOCAL,
        "hydra/sweeper=optuna",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.n_jobs=3",
        "hydra.sweeper.sampler.seed=3",
        "+task=objective",
        "x=interval(0.0,1.0)",
        f"+log={log}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    values = [float(v) for v in log.read_text().split()]
    assert len(values) == 6
    best = OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml")
    assert best.best_value == min(values)


def test_no_wait_with_a_result_consuming_sweeper_is_rejected_before_submitting(tmp_path):
    marker = tmp_path / "ran"
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.wait=false",
        "hydra/sweeper=optuna",
        "+task=touch_marker",
        f"+marker={marker}",
        "x=interval(0.0,1.0)",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "hydra.launcher.wait=false cannot be combined with the sweeper" in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize("value", ["0", "-3"])
def test_non_positive_wait_max_workers_is_rejected(tmp_path, value):
    proc = run_script(
        APPS / "hydra_app.py",
        *LOCAL,
        f"hydra.launcher.wait_max_workers={value}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "wait_max_workers must be a positive number or null" in proc.stderr


def test_single_run_honours_local_mode_with_an_endpoint_configured(tmp_path, unreachable_endpoint_config):
    marker = tmp_path / "ran"
    proc = run_script(
        APPS / "hydra_app.py",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=local",
        "+task=touch_marker",
        f"+marker={marker}",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        env={"FLYTECTL_CONFIG": str(unreachable_endpoint_config)},
    )
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text() == "ran"
    assert (tmp_path / "run" / ".hydra" / "config.yaml").exists()


def test_single_run_in_remote_mode_without_endpoint_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    proc = run_script(
        APPS / "hydra_app.py",
        "hydra/launcher=flyte",
        "+task=touch_marker",
        f"+marker={marker}",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "Remote mode needs a Flyte endpoint" in proc.stderr
    assert not marker.exists()


def test_single_run_failure_exits_non_zero(tmp_path):
    proc = run_script(
        APPS / "hydra_app.py",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=local",
        "x=2",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "x=2 is not allowed" in proc.stderr


SETTING_ERRORS = [
    pytest.param(["--multirun", "hydra.launcher.mode=bogus"], "hydra.launcher.mode must be 'local' or", id="mode"),
    pytest.param([*LOCAL, "hydra.launcher.max_parallel=0"], "max_parallel must be a positive number", id="cap"),
    pytest.param(["--multirun"], "Remote mode needs a Flyte endpoint", id="no-endpoint"),
    pytest.param([*LOCAL, "hydra.launcher.rerun_failed=nowhere"], "there is no flyte_runs.jsonl", id="rerun-dir"),
    pytest.param(["hydra.launcher.mode=bogus"], "Error: hydra.launcher.mode must be", id="plain-run-mode"),
    pytest.param([], "Error: Remote mode needs a Flyte endpoint", id="plain-run-no-endpoint"),
    pytest.param(
        ["hydra.launcher.mode=local", "hydra.launcher.wait_max_workers=0"],
        "Error: hydra.launcher.wait_max_workers must be a positive number",
        id="plain-run-wait-workers",
    ),
]


def _app_with(args: list[str], tmp_path: Path, **env: str):
    flags = [a for a in args if a.startswith("--")]
    return run_script(
        APPS / "hydra_app.py",
        *flags,
        "hydra/launcher=flyte",
        *(a for a in args if a not in flags),
        "x=1,2" if flags else "x=1",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(("args", "message"), SETTING_ERRORS)
def test_a_launcher_setting_error_is_one_or_two_lines_without_a_traceback(tmp_path, args, message):
    proc = _app_with(args, tmp_path)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("args", "message"), SETTING_ERRORS)
def test_hydra_full_error_shows_the_traceback_of_a_launcher_setting_error(tmp_path, args, message):
    proc = _app_with(args, tmp_path, HYDRA_FULL_ERROR="1")
    assert proc.returncode == 1
    output = proc.stderr + proc.stdout  # flyte's excepthook prints the exception line on stdout
    assert "traceback (most recent call last)" in output.lower()
    assert 'File "' in proc.stderr
    assert message.removeprefix("Error: ") in output


def test_a_log_file_that_cannot_be_opened_names_the_file_and_the_fix_without_a_traceback(tmp_path):
    """As with Hydra's own launchers the sweep stops there; the message says which file and what to change."""
    proc = _app_with([*LOCAL, "hydra.job_logging.handlers.file.filename=/proc/nope/${hydra.job.num}.log"], tmp_path)
    assert proc.returncode == 1
    assert "Job #0's log file /proc/nope/0.log can't be opened (No such file or directory)" in proc.stderr
    assert "hydra/job_logging=stdout" in proc.stderr
    assert "Traceback" not in proc.stderr and "Unable to configure handler" not in proc.stderr


def test_a_plain_run_with_a_bad_wait_setting_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    proc = run_script(
        APPS / "hydra_app.py",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=local",
        "hydra.launcher.wait_max_workers=0",
        "+task=touch_marker",
        f"+marker={marker}",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "wait_max_workers must be a positive number or null" in proc.stderr
    assert not marker.exists()
