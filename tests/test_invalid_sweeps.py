"""A sweep with any invalid job runs none of them, on every surface, and says which jobs and why."""

from __future__ import annotations

import pytest
from apps import tasks
from cli_support import flat, flyte_cli
from conftest import APPS, EXAMPLES

from flyteplugins.hydra import ConfigurationError, SweepFailedError, hydra_sweep

CONF = str(APPS / "conf")


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        (["model=resnet,vitt"], ["job #1 [model=vitt", "vitt"]),
        (["training.foo=1,2"], ["job #0 [training.foo=1]", "job #1 [training.foo=2]", "foo"]),
        (["+task_env={pipeline: {resources: {cpu: lots}}}", "optimizer.lr=0.1,0.2"], ["cpu", "lots"]),
    ],
    ids=["unknown-group-option", "unknown-key", "bad-task-env"],
)
def test_sdk_sweep_with_an_invalid_job_runs_nothing(overrides, names, in_examples, tmp_path):
    import train

    with pytest.raises(ConfigurationError, match="jobs of the sweep are invalid, so none was run") as info:
        hydra_sweep(
            train.pipeline,
            config_path="conf",
            config_name="training",
            mode="local",
            overrides=[*overrides, f"hydra.sweep.dir={tmp_path / 'sweep'}"],
            dataset="imagenet",
        )
    for name in names:
        assert name in str(info.value)
    assert not (tmp_path / "sweep" / "flyte_runs.jsonl").exists(), "nothing may be started or journaled"


def test_a_wrongly_typed_task_input_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "log"
    with pytest.raises(ConfigurationError, match=r"input scale is an int, got str 'big'\. Pass an int"):
        hydra_sweep(
            tasks.scaled, config_path=CONF, config_name="app", mode="local", overrides=["x=1,2", f"+log={marker}"],
            scale="big",
        )  # fmt: skip


def test_cli_sweep_with_an_invalid_job_runs_nothing(tmp_path):
    result = flyte_cli(
        "hydra", "run", "--local", "--multirun", "--config-path", EXAMPLES / "conf", "--config-name", "training",
        EXAMPLES / "train.py", "pipeline", "--dataset", "imagenet", "--cfg", "model=resnet,vitt",
        "--hydra-override", f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "1 of 2 jobs of the sweep are invalid, so none was run" in flat(result.output)
    assert "job #1 [model=vitt]" in flat(result.output)
    assert not (tmp_path / "sweep" / "flyte_runs.jsonl").exists()


def test_a_dry_run_still_lists_every_job_with_its_error(in_examples, capsys):
    import train

    with pytest.raises(SweepFailedError):
        hydra_sweep(
        train.pipeline, config_path="conf", config_name="training", mode="local", dry_run=True,
        overrides=["model=resnet,vitt"], dataset="imagenet",
        )  # fmt: skip
    out = capsys.readouterr().out
    assert "job #0 [model=resnet]" in out and "job #1 [model=vitt]" in out and "vitt" in out.split("job #1")[1]
