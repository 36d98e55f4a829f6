"""`flyte hydra run` through flyte's own CLI and Click's test runner, in local mode: real in-process runs."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click
import flyte
import pytest
from cli_support import APP_CONF, TASKS, TRAIN, flat, flyte_cli, hydra_run
from omegaconf import OmegaConf

APP = ["--local", "--config-path", APP_CONF, "--config-name", "app"]
TRAINING = ["--local", "--config-path", TRAIN.parent / "conf", "--config-name", "training"]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hydra's default sweep folder (multirun/...) lands in a temp dir, not in the repository."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run_context_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The keyword arguments of every `flyte.with_runcontext` call; the real function still runs."""
    calls: list[dict] = []
    original = flyte.with_runcontext

    @functools.wraps(original)
    def recording(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(flyte, "with_runcontext", recording)
    return calls


def table_rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines() if line.startswith("#")]


def last_line(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


# -- single runs -----------------------------------------------------------------------------


def test_single_run_prints_the_task_result():
    import train

    result = hydra_run(*TRAINING, TRAIN, "pipeline", "--dataset", "imagenet", "--cfg", "optimizer.lr=0.01")
    assert result.exit_code == 0, result.output
    cfg = OmegaConf.create(
        {"optimizer": {"lr": 0.01}, "training": {"epochs": 30, "batch_size": 64}, "model": {"name": "resnet"}}
    )
    assert last_line(result.stdout) == str(train.fake_validation_loss(cfg, 10))


def test_config_flag_is_named_after_the_tasks_dictconfig_parameter():
    result = hydra_run(*APP, TASKS, "scaled", "--config", "x=3", "--scale", "4")
    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == "12.0"
    wrong = hydra_run(*APP, TASKS, "scaled", "--cfg", "x=3")
    assert wrong.exit_code == 2 and "No such option '--cfg'. Did you mean '--config'?" in flat(wrong.stderr)


def test_config_flag_accepts_the_equals_form():
    result = hydra_run(*APP, TASKS, "scaled", "--config=x=5")
    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == "10.0"


def test_every_override_form_reaches_the_task():
    result = hydra_run(
        *TRAINING,
        TASKS,
        "dump",
        "--cfg",
        "training.epochs=3",
        "--cfg",
        "optimizer=sgd",
        "--cfg",
        "+task_env=a100",
        "--cfg=+training.grad_clip=1.0",
        "--cfg",
        "++optimizer.lr=0.05",
        "--cfg",
        "~training.batch_size",
    )
    assert result.exit_code == 0, result.output
    cfg = json.loads(last_line(result.stdout))
    assert cfg["training"] == {"epochs": 3, "grad_clip": 1.0}
    assert cfg["optimizer"] == {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0001}
    assert cfg["task_env"]["train_model"]["resources"]["gpu"] == "A100:1"
    assert "hydra" not in cfg


def test_task_inputs_are_typed_with_defaults_as_in_flyte_run():
    assert last_line(hydra_run(*APP, TASKS, "scaled", "--config", "x=3").stdout) == "6.0"
    bad = hydra_run(*APP, TASKS, "scaled", "--scale", "two")
    assert bad.exit_code == 2
    assert "Invalid value for '--scale': 'two' is not a valid integer" in flat(bad.stderr)


def test_a_tuple_result_is_printed_as_a_tuple():
    result = hydra_run(*APP, TASKS, "pair", "--cfg", "x=7")
    assert last_line(result.stdout) == "(7, 'base')"


def test_structured_config_registered_by_the_script_runs_without_a_config_path():
    import train

    result = hydra_run(
        "--local",
        "--config-name",
        "structured_training",
        TRAIN,
        "pipeline",
        "--dataset",
        "d",
        "--cfg",
        "training.epochs=2",
    )
    assert result.exit_code == 0, result.output
    cfg = OmegaConf.structured(train.StructuredTrainingConf(training=train.TrainingConf(epochs=2)))
    assert last_line(result.stdout) == str(train.fake_validation_loss(cfg, 10))


def test_hydra_overrides_go_before_script_or_after_task(tmp_path):
    result = hydra_run(
        *APP,
        "--multirun",
        "--hydra-override",
        f"hydra.sweep.dir={tmp_path / 'first'}",
        TASKS,
        "dump",
        "--cfg",
        "x=1,2",
        "--hydra-override",
        f"hydra.sweep.dir={tmp_path / 'second'}",
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "first").exists()
    assert (tmp_path / "second" / "flyte_runs.jsonl").is_file()


def test_mode_local_is_the_same_as_local(run_context_calls):
    result = hydra_run("--mode", "local", *APP[1:], TASKS, "scaled")
    assert result.exit_code == 0, result.output
    assert [c.get("mode") for c in run_context_calls] == ["local"]


# -- sweeps ----------------------------------------------------------------------------------


def test_grid_sweep_prints_a_table_in_job_order():
    result = hydra_run(*APP, "--multirun", TASKS, "scaled", "--config", "x=1,2", "--config", "+y=a,b", "--scale", "10")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("#0", "x=1", "+y=a", "SUCCEEDED", "10.0"),
        ("#1", "x=1", "+y=b", "SUCCEEDED", "10.0"),
        ("#2", "x=2", "+y=a", "SUCCEEDED", "20.0"),
        ("#3", "x=2", "+y=b", "SUCCEEDED", "20.0"),
    ]
    assert "4 succeeded, 0 failed" in result.stdout


def test_short_m_flag_is_multirun():
    result = hydra_run(*APP, "-m", TASKS, "scaled", "--config", "x=1,2")
    assert [r[3] for r in table_rows(result.stdout)] == ["2.0", "4.0"]


def test_walkthrough_grid_over_groups_and_values():
    result = hydra_run(
        *TRAINING,
        "--multirun",
        TRAIN,
        "pipeline",
        "--dataset",
        "imagenet",
        "--cfg",
        "model=resnet,vit",
        "--cfg=optimizer.lr=0.001,0.01",
    )
    assert result.exit_code == 0, result.output
    assert [r[1:3] for r in table_rows(result.stdout)] == [
        ["model=resnet", "optimizer.lr=0.001"],
        ["model=resnet", "optimizer.lr=0.01"],
        ["model=vit", "optimizer.lr=0.001"],
        ["model=vit", "optimizer.lr=0.01"],
    ]


def test_optuna_sweep_is_driven_by_hydra_overrides(tmp_path):
    result = hydra_run(
        *APP,
        "--multirun",
        TASKS,
        "objective",
        "--hydra-override",
        "hydra/sweeper=optuna",
        "--hydra-override",
        "hydra.sweeper.n_trials=4",
        "--hydra-override",
        "hydra.sweeper.n_jobs=2",
        "--hydra-override",
        "hydra.sweeper.sampler.seed=7",
        "--hydra-override",
        f"hydra.sweep.dir={tmp_path / 'optuna'}",
        "--cfg",
        "x=interval(0.0,1.0)",
    )
    assert result.exit_code == 0, result.output
    values = [float(r[3]) for r in table_rows(result.stdout)]
    assert len(values) == 4
    assert OmegaConf.load(tmp_path / "optuna" / "optimization_results.yaml").best_value == min(values)


def test_a_failed_job_makes_the_exit_status_nonzero_and_is_named():
    result = hydra_run(*APP, "--multirun", TASKS, "fails_on_two", "--cfg", "x=1,2,3")
    assert result.exit_code == 1
    assert [r[2] for r in table_rows(result.stdout)] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    message = flat(result.stderr)
    assert "1 of 3 jobs failed" in message and "flyte hydra results <sweep dir>" in message
    assert "x=2 is not allowed" not in message  # the summary above names it; the box does not repeat it
    assert "x=2 is not allowed" in result.stdout


def test_a_failed_single_run_exits_nonzero_with_its_error():
    result = hydra_run(*APP, TASKS, "fails_on_two", "--cfg", "x=2")
    assert result.exit_code == 1
    assert "job #0 [x=2] FAILED" in flat(result.stderr) and "x=2 is not allowed" in flat(result.stderr)


def test_dry_run_lists_jobs_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    result = hydra_run(
        *APP, "--multirun", "--dry-run", TASKS, "touch_marker", "--cfg", "x=1,2", "--marker", str(marker)
    )
    assert result.exit_code == 0, result.output
    assert "Dry run: 2 job(s) would run in local mode" in result.stdout
    assert not marker.exists()


def test_task_env_key_names_the_settings_section():
    result = hydra_run(
        *APP, "--dry-run", "--task-env-key", "envs", TASKS, "dump", "--cfg", "+envs={dump: {resources: {cpu: '3'}}}"
    )
    assert result.exit_code == 0, result.output
    assert "cpu='3'" in result.stdout


def test_fail_fast_stops_starting_jobs():
    result = hydra_run(*APP, "--multirun", "--fail-fast", TASKS, "fails_on_two", "--cfg", "x=2,3")
    assert result.exit_code == 1
    assert [r[2] for r in table_rows(result.stdout)] == ["FAILED", "CANCELLED"]


def test_rerun_failed_runs_only_the_jobs_that_did_not_succeed(tmp_path):
    sweep = ["--hydra-override", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    first = hydra_run(*APP, "--multirun", TASKS, "fails_on_two", "--cfg", "x=1,2", *sweep)
    assert first.exit_code == 1
    again = hydra_run(*APP, "--multirun", "--rerun-failed", tmp_path / "sweep", TASKS, "fails_on_two", "--cfg", "x=1,2")
    assert again.exit_code == 1
    assert "job #1 [x=2] FAILED" in flat(again.stderr)
    assert "job #0" not in flat(again.stderr)


def test_max_parallel_is_accepted_for_local_sweeps():
    result = hydra_run(*APP, "--multirun", "--max-parallel", "2", TASKS, "scaled", "--config", "x=1,2,3")
    assert result.exit_code == 0, result.output
    assert [r[3] for r in table_rows(result.stdout)] == ["2.0", "4.0", "6.0"]


# -- flyte run options -----------------------------------------------------------------------


def test_flyte_run_options_reach_with_runcontext(run_context_calls, tmp_path):
    result = hydra_run(
        *APP,
        "--name",
        "named-by-test",
        "--service-account",
        "trainer-sa",
        "--raw-data-path",
        str(tmp_path / "raw"),
        "--copy-style",
        "all",
        "--version",
        "v7",
        "--debug",
        "--env",
        "A=1",
        "-e",
        "B=2",
        "--label",
        "team=ml",
        "--queue",
        "gpu-queue",
        "--max-action-concurrency",
        "3",
        TASKS,
        "scaled",
    )
    assert result.exit_code == 0, result.output
    (call,) = run_context_calls
    assert call["mode"] == "local"
    assert {k: call[k] for k in ("name", "service_account", "copy_style", "version", "debug", "queue")} == {
        "name": "named-by-test",
        "service_account": "trainer-sa",
        "copy_style": "all",
        "version": "v7",
        "debug": True,
        "queue": "gpu-queue",
    }
    assert call["raw_data_path"] == str(tmp_path / "raw")
    assert call["env_vars"] == {"A": "1", "B": "2"} and call["labels"] == {"team": "ml"}
    assert call["max_action_concurrency"] == 3


def test_project_domain_and_image_initialise_flyte_as_flyte_run_does():
    from flyte._initialize import _get_init_config

    result = hydra_run(
        *APP,
        "-p",
        "proj",
        "--domain",
        "dev",
        "--image",
        "ghcr.io/acme/base:1",
        "--image",
        "gpu=ghcr.io/acme/gpu:2",
        TASKS,
        "scaled",
    )
    assert result.exit_code == 0, result.output
    init = _get_init_config()
    assert (init.project, init.domain) == ("proj", "dev")
    assert init.images == {"default": "ghcr.io/acme/base:1", "gpu": "ghcr.io/acme/gpu:2"}


def test_root_dir_and_sys_path_sync_initialise_flyte_as_flyte_run_does(tmp_path):
    from flyte._initialize import _get_init_config

    result = hydra_run(*APP, "--root-dir", tmp_path, "--no-sync-local-sys-paths", TASKS, "scaled")
    assert result.exit_code == 0, result.output
    init = _get_init_config()
    assert init.root_dir == tmp_path.resolve() and init.sync_local_sys_paths is False


def test_every_applicable_flyte_run_option_is_inherited():
    from flyte.cli._run import RunArguments

    from flyteplugins.hydra_cli._run import run

    ours = {p.name for p in run.params}
    not_applicable = {"run_project", "run_domain", "tui", "tracked", "tracked_strict"}
    assert {o.name for o in RunArguments.options()} - not_applicable <= ours


def test_a_flyte_run_option_colliding_with_ours_fails_clearly():
    from flyteplugins.hydra_cli._run import OptionCollisionError, _own_options, inherit_run_options

    newcomer = click.Option(["--mode", "-M"], help="a future flyte run option")
    with pytest.raises(OptionCollisionError, match=r"flyte run's option --mode/-M collides .* --mode, mode"):
        inherit_run_options(_own_options(), [newcomer])


def test_help_shows_our_options_and_the_inherited_ones():
    result = hydra_run("--help")
    assert result.exit_code == 0
    for flag in ("--config-path", "--config-name", "--multirun", "--mode", "--wait", "--no-wait", "--wait-max-workers"):
        assert flag in result.stdout
    for flag in ("--task-env-key", "--hydra-override", "--project", "--image", "--follow", "--copy-style", "--local"):
        assert flag in result.stdout


def test_task_help_shows_its_config_flag_and_inputs():
    result = hydra_run(*TRAINING, TRAIN, "pipeline", "--help")
    assert result.exit_code == 0
    assert "--cfg" in result.stdout and "--dataset" in result.stdout and "--hydra-override" in result.stdout


# -- usage errors: short messages, no traceback ----------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--local", "--mode", "remote", TASKS, "scaled"], "--local and --mode remote contradict each other"),
        (["--follow", "--no-wait", TASKS, "scaled"], "drop --follow or --no-wait"),
        (["--follow", "--max-parallel", "2", TASKS, "scaled"], "--follow streams logs once every run is submitted"),
        (["--wait-max-workers", "0", TASKS, "scaled"], "Invalid value for '--wait-max-workers'"),
        (["--mode", "cloud", TASKS, "scaled"], "Invalid value for '--mode'"),
        (
            [*APP, TASKS, "scaled", "--config", "hydra/sweeper=optuna"],
            "pass it as --hydra-override 'hydra/sweeper=optuna'",
        ),
        ([*APP, TASKS, "scaled", "--hydra-override", "x=2"], "pass overrides of your own config as --config 'x=2'"),
        ([*APP, TASKS, "scaled", "--config", "x=[1"], "Malformed override 'x=[1'"),
        ([*APP, TASKS, "scaled", "--config", "x"], "Malformed override 'x'"),
        ([*TRAINING, TRAIN, "pipeline"], "Missing task input(s): --dataset."),
        ([*APP, TASKS, "nope"], "has no task named 'nope'. Tasks that take a DictConfig there: dump,"),
        ([*APP, TASKS, "no_config"], "Task 'test_apps.no_config' has no DictConfig input"),
        ([*APP, "missing.py", "scaled"], "SCRIPT 'missing.py' is not a file"),
    ],
)
def test_usage_errors_are_short_messages(args, message):
    result = hydra_run(*args)
    assert result.exit_code == 2, result.output
    assert message in flat(result.stderr)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*TRAINING, TRAIN, "pipeline", "--dataset", "d", "--cfg", "model=nope"], "Could not find 'model/nope'"),
        ([*TRAINING, TRAIN, "pipeline", "--dataset", "d", "--cfg", "optimizer.nope=1"], "use +optimizer.nope=1"),
        (
            ["--local", "--config-path", APP_CONF, "--config-name", "nope", TASKS, "dump"],
            f"The primary config 'nope' was not found in {APP_CONF}. Set --config-name to the name of a config there",
        ),
        ([*APP, "--multirun", TASKS, "dump", "--cfg", "nope=1,2"], "Could not override 'nope'"),
        (["--local", "--config-path", "no/such/dir", TASKS, "dump"], "config_path 'no/such/dir' is not a directory"),
        (["--config-path", APP_CONF, TASKS, "dump"], "Remote mode needs a Flyte endpoint"),
    ],
)
def test_config_errors_are_short_messages(args, message):
    result = hydra_run(*args)
    assert result.exit_code == 1, result.output
    assert message in flat(result.stderr)
    assert "Traceback" not in result.output


def test_remote_runs_need_a_project_and_a_domain(tmp_path):
    config = tmp_path / "endpoint-only.yaml"
    config.write_text("admin:\n  endpoint: dns:///127.0.0.1:9\n  insecure: true\n")
    result = hydra_run("--config-path", APP_CONF, TASKS, "dump", env={"FLYTECTL_CONFIG": str(config)})
    assert result.exit_code == 2
    assert "Remote runs need --project and --domain" in flat(result.stderr)
    with_project = hydra_run("-p", "p", "--config-path", APP_CONF, TASKS, "dump", env={"FLYTECTL_CONFIG": str(config)})
    assert "Remote runs need --domain: pass --domain ..., or set task.domain" in flat(with_project.stderr)


@pytest.fixture
def broken_script(tmp_path: Path) -> Path:
    script = tmp_path / "broken_app.py"
    script.write_text("import flyte\nimport module_that_does_not_exist\n")
    return script


def test_a_script_that_fails_to_import_is_one_message(broken_script):
    result = hydra_run(*APP, broken_script, "anything")
    assert result.exit_code == 1
    assert (
        f"Could not import {broken_script}: ModuleNotFoundError: No module named 'module_that_does_not_exist'"
        in flat(result.stderr)
    )
    assert "Traceback" not in result.output


def test_verbose_lets_the_original_error_through(broken_script):
    result = flyte_cli("-v", "hydra", "run", *APP, broken_script, "anything")
    assert result.exit_code == 1
    assert isinstance(result.exception, ModuleNotFoundError)


def test_a_script_shadowing_a_loaded_module_is_refused(tmp_path):
    script = tmp_path / "hydra.py"
    script.write_text("")
    result = hydra_run(*APP, script, "anything")
    assert result.exit_code == 1
    assert "would be imported as module 'hydra', but another module of that name is already loaded" in flat(
        result.stderr
    )
