"""Shell completion of `flyte hydra run`, through Click's `_FLYTE_COMPLETE` protocol as a shell drives it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import APP_CONF, ROOT, TASKS, TRAIN, complete, completion_env, flyte_exe, parse_completions

TRAINING = f"flyte hydra run --config-path {TRAIN.parent / 'conf'} --config-name training {TRAIN} pipeline"
APP = f"flyte hydra run --config-path {APP_CONF} --config-name app {TASKS} scaled"


def test_the_config_flag_matching_the_task_is_offered():
    assert complete(f"{TRAINING} --") == ["--cfg", "--hydra-override", "--dataset", "--help"]
    assert complete(f"{APP} --") == ["--config", "--hydra-override", "--scale", "--help"]


def test_config_keys_complete_from_hydra():
    assert complete(f"{TRAINING} --cfg optimizer.") == ["optimizer.lr=", "optimizer.name=", "optimizer.weight_decay="]
    assert complete(f"{APP} --config n") == ["name=", "nested."]


def test_the_equals_form_completes_too():
    assert complete(f"{TRAINING} --cfg=optimizer.") == ["optimizer.lr=", "optimizer.name=", "optimizer.weight_decay="]


def test_groups_and_their_options_complete():
    assert complete(f"{TRAINING} --cfg opt") == ["optimizer.", "optimizer="]
    assert complete(f"{TRAINING} --cfg model=") == ["model=resnet", "model=vit"]


def test_earlier_overrides_shape_the_suggestions():
    assert "optimizer.momentum=" in complete(f"{TRAINING} --cfg optimizer=sgd --cfg optimizer.")
    assert "optimizer.momentum=" not in complete(f"{TRAINING} --cfg optimizer.")


def test_hydra_override_completes_hydras_own_groups():
    assert {"hydra/launcher=basic", "hydra/launcher=flyte"} <= set(
        complete(f"{TRAINING} --hydra-override hydra/launcher=")
    )
    assert "hydra/sweeper=optuna" in complete(f"{TRAINING} --hydra-override hydra/sweeper=")
    assert "hydra.sweep.dir=" in complete(f"{TRAINING} --hydra-override hydra.sweep.")


def test_each_flag_offers_only_its_own_namespace():
    app = complete(f"{TRAINING} --cfg ")
    assert "optimizer." in app and not any(s.startswith("hydra") for s in app)
    assert set(complete(f"{TRAINING} --hydra-override ")) == {"hydra", "hydra."}


def test_sweep_functions_are_offered_under_multirun():
    line = TRAINING.replace("flyte hydra run", "flyte hydra run --multirun")
    values = complete(f"{line} --cfg optimizer.lr=")
    assert "optimizer.lr=0.001" in values
    assert {"optimizer.lr=choice(", "optimizer.lr=interval(", "optimizer.lr=range(", "optimizer.lr=glob("} <= set(
        values
    )
    assert complete(f"{line} --cfg optimizer.lr=in") == ["optimizer.lr=interval("]
    assert not any("(" in v for v in complete(f"{TRAINING} --cfg optimizer.lr="))


def test_structured_configs_registered_by_the_script_complete():
    line = f"flyte hydra run --config-name structured_training {TRAIN} pipeline --cfg training."
    assert complete(line) == ["training.batch_size=", "training.epochs="]


def test_hydra_override_before_the_script_completes():
    assert "hydra/launcher=flyte" in complete("flyte hydra run --hydra-override hydra/launcher=")


def test_task_names_are_the_scripts_tasks_taking_a_dictconfig():
    assert complete(f"flyte hydra run {TRAIN} ") == ["pipeline", "preprocess", "train_model"]
    assert "no_config" not in complete(f"flyte hydra run {TASKS} ")


def test_script_completes_as_a_file():
    from cli_support import flyte_cli

    result = flyte_cli(env=completion_env("flyte hydra run --local tr"))
    assert parse_completions(result.stdout) == [("file", "tr")]


@pytest.fixture
def broken_script(tmp_path: Path) -> Path:
    script = tmp_path / "broken_completion.py"
    script.write_text("print('noise on stdout')\nraise RuntimeError('cannot import me')\n")
    return script


@pytest.mark.parametrize("tail", ["", "pipeline --", "pipeline --cfg ", "pipeline --cfg optimizer."])
def test_a_script_that_fails_to_import_completes_nothing(broken_script, tail):
    assert complete(f"flyte hydra run --config-path {APP_CONF} {broken_script} {tail}") == (
        ["--help"] if tail.endswith("--") else []
    )


def test_the_real_executable_completes_and_survives_a_broken_script(broken_script):
    good = flyte_exe(cwd=ROOT, env=completion_env(f"{TRAINING} --cfg optimizer."))
    assert good.returncode == 0, good.stderr
    assert parse_completions(good.stdout) == [
        ("plain", "optimizer.lr="),
        ("plain", "optimizer.name="),
        ("plain", "optimizer.weight_decay="),
    ]
    broken = flyte_exe(cwd=ROOT, env=completion_env(f"flyte hydra run {broken_script} pipeline --cfg x"))
    assert broken.returncode == 0 and broken.stdout.strip() == ""
    assert "Traceback" not in broken.stderr
