"""`hydra_run` / `hydra_sweep` in local mode: real in-process Flyte runs, no mocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apps import tasks
from omegaconf import OmegaConf

from flyteplugins.hydra import ConfigurationError, JobFailedError, RunResult, SweepFailedError, hydra_run, hydra_sweep

APP_CONF = str(Path(tasks.__file__).parent / "conf")


def dumped(results: list[RunResult]) -> list[dict]:
    return [json.loads(r.value) for r in results]


def test_hydra_run_returns_the_task_output_and_a_url(in_examples):
    import train

    result = hydra_run(
        train.pipeline,
        config_path="conf",
        config_name="training",
        overrides=["optimizer.lr=0.01"],
        mode="local",
        dataset="imagenet",
    )
    cfg = OmegaConf.create(
        {"optimizer": {"lr": 0.01}, "training": {"epochs": 30, "batch_size": 64}, "model": {"name": "resnet"}}
    )
    assert isinstance(result, RunResult)
    assert result.value == train.fake_validation_loss(cfg, 10)
    assert float(result) == result.value
    assert result.url and Path(result.url).is_absolute()


def test_grid_sweep_results_follow_basic_sweeper_order():
    results = hydra_sweep(
        tasks.dump, config_path=APP_CONF, config_name="app", overrides=["x=1,2,3", "name=a,b"], mode="local"
    )
    got = [(c["x"], c["name"]) for c in dumped(results)]
    assert got == [(1, "a"), (1, "b"), (2, "a"), (2, "b"), (3, "a"), (3, "b")]


def test_range_and_glob_sweeps_expand_like_hydra(in_examples):
    results = hydra_sweep(
        tasks.dump,
        config_path="conf",
        config_name="training",
        overrides=["training.epochs=range(1,4)", "model=glob(*)"],
        mode="local",
    )
    got = [(c["training"]["epochs"], c["model"]["name"]) for c in dumped(results)]
    assert got == [(1, "resnet"), (1, "vit"), (2, "resnet"), (2, "vit"), (3, "resnet"), (3, "vit")]


def test_config_group_sweep_swaps_whole_subtrees(in_examples):
    results = hydra_sweep(
        tasks.dump, config_path="conf", config_name="training", overrides=["optimizer=adam,sgd"], mode="local"
    )
    adam, sgd = dumped(results)
    assert adam["optimizer"]["name"] == "adam" and "momentum" not in adam["optimizer"]
    assert sgd["optimizer"] == {"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0001}


def test_every_override_form_reaches_the_task(in_examples):
    result = hydra_run(
        tasks.dump,
        config_path="conf",
        config_name="training",
        mode="local",
        overrides=[
            "training.epochs=3",
            "optimizer=sgd",
            "+task_env=a100",
            "+training.grad_clip=1.0",
            "++optimizer.lr=0.05",
            "++data.shards=8",
            "~training.batch_size",
            "hydra.run.dir=" + str(Path.cwd() / "outputs" / "ignored"),
        ],
    )
    cfg = json.loads(result.value)
    assert cfg["training"] == {"epochs": 3, "grad_clip": 1.0}
    assert cfg["optimizer"]["name"] == "sgd" and cfg["optimizer"]["lr"] == 0.05
    assert cfg["data"]["shards"] == 8
    assert cfg["task_env"]["train_model"]["resources"]["gpu"] == "A100:1"
    assert "hydra" not in cfg


def test_sweep_dir_override_is_accepted(tmp_path):
    results = hydra_sweep(
        tasks.dump,
        config_path=APP_CONF,
        config_name="app",
        mode="local",
        overrides=["x=1,2", f"hydra.sweep.dir={tmp_path}"],
    )
    assert [c["x"] for c in dumped(results)] == [1, 2]


def test_structured_config_without_yaml_sweeps():
    import train

    results = hydra_sweep(
        tasks.dump,
        config_path=None,
        config_name="structured_training",
        mode="local",
        overrides=["training.epochs=10,20", "training.batch_size=32,64"],
    )
    got = [(c["training"]["epochs"], c["training"]["batch_size"]) for c in dumped(results)]
    assert got == [(10, 32), (10, 64), (20, 32), (20, 64)]
    assert dumped(results)[0]["model"] == {"name": train.ModelConf.name, "depth": train.ModelConf.depth}


def test_structured_config_rejects_unknown_keys_without_plus():
    import train  # noqa: F401  (registers structured_training)

    with pytest.raises(JobFailedError, match="not_a_key"):
        hydra_run(tasks.dump, config_name="structured_training", mode="local", overrides=["training.not_a_key=1"])


def test_config_parameter_is_found_by_type_and_other_inputs_pass_through():
    result = hydra_run(tasks.scaled, config_path=APP_CONF, config_name="app", mode="local", overrides=["x=4"], scale=3)
    assert result.value == 12.0


def test_tuple_outputs_stay_tuples_and_iterate():
    result = hydra_run(tasks.pair, config_path=APP_CONF, config_name="app", mode="local", overrides=["x=7"])
    assert result.value == (7, "base")
    x, name = result
    assert (x, name) == (7, "base")


def test_task_without_dictconfig_input_is_rejected_with_its_name():
    with pytest.raises(ConfigurationError, match=r"Task 'test_apps.no_config' has no DictConfig input"):
        hydra_run(tasks.no_config, config_path=APP_CONF, config_name="app", mode="local", x=1)


def test_plain_function_is_rejected():
    with pytest.raises(ConfigurationError, match="not a Flyte task"):
        hydra_run(tasks.not_a_task, config_path=APP_CONF, config_name="app", mode="local")


def test_unknown_task_input_is_rejected_before_running(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ConfigurationError, match=r"no input\(s\) bogus; its inputs are: marker"):
        hydra_run(
            tasks.touch_marker, config_path=APP_CONF, config_name="app", mode="local", marker=str(marker), bogus=1
        )
    assert not marker.exists()


def test_missing_task_input_is_rejected():
    with pytest.raises(ConfigurationError, match=r"needs input\(s\) marker"):
        hydra_run(tasks.touch_marker, config_path=APP_CONF, config_name="app", mode="local")


def test_failed_job_does_not_stop_the_others():
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(tasks.fails_on_two, config_path=APP_CONF, config_name="app", overrides=["x=1,2,3"], mode="local")
    error = info.value
    assert "1 of 3 jobs failed" in str(error)
    assert "job #1 [x=2] FAILED" in str(error) and "x=2 is not allowed" in str(error)
    assert [float(r) if r is not None else None for r in error.results] == [1.0, None, 3.0]
    assert [o.phase for o in error.outcomes] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]


def test_hydra_run_raises_when_its_run_fails():
    with pytest.raises(JobFailedError, match="x=2 is not allowed"):
        hydra_run(tasks.fails_on_two, config_path=APP_CONF, config_name="app", overrides=["x=2"], mode="local")


def test_unknown_group_option_stops_the_sweep_before_any_job_runs(in_examples, tmp_path):
    with pytest.raises(ConfigurationError) as info:
        hydra_sweep(
            tasks.dump,
            config_path="conf",
            config_name="training",
            overrides=["model=resnet,nope,vit", f"hydra.sweep.dir={tmp_path / 's'}"],
            mode="local",
        )
    message = str(info.value)
    assert message.startswith("1 of 3 jobs of the sweep are invalid, so none was run:")
    assert "job #1 [model=nope]" in message and "Could not find 'model/nope'" in message
    assert not (tmp_path / "s" / "flyte_runs.jsonl").exists()


def test_bad_mode_is_rejected_before_any_job(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ConfigurationError, match=r"mode must be 'local' or 'remote', got 'cloud'"):
        hydra_sweep(
            tasks.touch_marker,
            config_path=APP_CONF,
            config_name="app",
            mode="cloud",
            overrides=["x=1,2"],
            marker=str(marker),
        )
    assert not marker.exists()


def test_remote_without_endpoint_fails_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ConfigurationError, match="Remote mode needs a Flyte endpoint"):
        hydra_run(tasks.touch_marker, config_path=APP_CONF, config_name="app", marker=str(marker))
    assert not marker.exists()


def test_local_mode_stays_local_with_an_endpoint_configured(unreachable_endpoint_config):
    results = hydra_sweep(tasks.where_am_i, config_path=APP_CONF, config_name="app", overrides=["x=1,2"], mode="local")
    assert [r.value for r in results] == ["in-process", "in-process"]


def test_unknown_run_option_is_rejected():
    with pytest.raises(ConfigurationError, match="Unknown run_options colour"):
        hydra_run(tasks.dump, config_path=APP_CONF, config_name="app", mode="local", run_options={"colour": "red"})


def test_run_options_reach_flyte(tmp_path):
    result = hydra_run(
        tasks.dump, config_path=APP_CONF, config_name="app", mode="local", run_options={"name": "named-by-test"}
    )
    assert Path(result.url).name == "named-by-test"


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """An empty folder of its own as the process's temporary directory, to see what a launch leaves there."""
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def test_a_local_sweep_keeps_its_runs_data_in_one_temporary_folder(tmp_path, temp_dir):
    """flyte alone makes a temporary folder per local run and leaves it; a sweep makes one for all its jobs."""
    sweep = tmp_path / "sweep"
    results = hydra_sweep(
        tasks.dump,
        config_path=APP_CONF,
        config_name="app",
        overrides=["x=1,2,3,4,5", f"hydra.sweep.dir={sweep}"],
        mode="local",
    )
    assert [c["x"] for c in dumped(results)] == [1, 2, 3, 4, 5]
    assert [p.name.startswith("flyte-hydra-local-") for p in temp_dir.iterdir()] == [True]


def test_a_raw_data_path_in_run_options_is_where_local_runs_keep_their_data(tmp_path, temp_dir):
    mine = tmp_path / "mine"
    mine.mkdir()
    results = hydra_sweep(
        tasks.dump,
        config_path=APP_CONF,
        config_name="app",
        overrides=["x=1,2", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        mode="local",
        run_options={"raw_data_path": str(mine)},
    )
    assert [c["x"] for c in dumped(results)] == [1, 2]
    assert list(temp_dir.iterdir()) == []


def test_missing_config_path_is_explained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="config_path 'conf' is not a directory"):
        hydra_run(tasks.dump, config_path="conf", config_name="app", mode="local")


def test_another_launcher_selection_is_refused():
    with pytest.raises(ConfigurationError, match="always launch with Flyte"):
        hydra_sweep(
            tasks.dump, config_path=APP_CONF, config_name="app", mode="local", overrides=["hydra/launcher=basic"]
        )


def test_optuna_sweeper_receives_each_objective(tmp_path):
    log = tmp_path / "evaluations.txt"
    results = hydra_sweep(
        tasks.objective,
        config_path=APP_CONF,
        config_name="app",
        mode="local",
        overrides=[
            "hydra/sweeper=optuna",
            "hydra.sweeper.n_trials=6",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.sampler.seed=7",
            "x=interval(0.0,1.0)",
            f"+log={log}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
    )
    values = [float(r) for r in results]
    assert len(values) == 6
    assert values == [float(v) for v in log.read_text().split()]
    best = OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml")
    assert best.best_value == min(values)


def test_local_sweep_runs_are_named_after_task_and_job_number():
    results = hydra_sweep(tasks.scaled, config_path=APP_CONF, config_name="app", overrides=["x=1,2"], mode="local")
    names = [Path(r.url).name for r in results]
    sweep_id = names[0].split("-")[1]
    assert names == [f"scaled-{sweep_id}-0", f"scaled-{sweep_id}-1"]


def test_a_given_run_name_gets_the_job_number_in_a_sweep():
    results = hydra_sweep(
        tasks.scaled,
        config_path=APP_CONF,
        config_name="app",
        overrides=["x=1,2"],
        mode="local",
        run_options={"name": "exp"},
    )
    assert [Path(r.url).name for r in results] == ["exp-0", "exp-1"]
