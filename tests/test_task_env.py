"""`task_env` lowering on real Flyte tasks: resources, images, pod templates and the errors around them."""

from __future__ import annotations

import flyte
import pytest
from apps import tasks
from conftest import APPS
from omegaconf import OmegaConf

from flyteplugins.hydra import ConfigurationError, apply_task_env, hydra_run, hydra_sweep


def cfg_with(entry: object, key: str = "task_env", name: str = "dump") -> object:
    return OmegaConf.create({key: {name: entry}, "x": 1})


def test_resources_mapping_becomes_flyte_resources():
    task = apply_task_env(tasks.dump, cfg_with({"resources": {"cpu": "2", "memory": "8Gi", "gpu": "A100:1"}}))
    assert task is not tasks.dump
    assert task.resources == flyte.Resources(cpu="2", memory="8Gi", gpu="A100:1")
    assert tasks.dump.resources != task.resources


def test_other_keys_are_task_override_arguments():
    task = apply_task_env(tasks.dump, cfg_with({"retries": 3, "env_vars": {"A": "1"}}))
    assert task.retries.count == 3
    assert task.env_vars == {"A": "1"}


def test_image_creates_a_pod_template_with_a_primary_container():
    task = apply_task_env(tasks.dump, cfg_with({"image": "ghcr.io/acme/train:1"}))
    template = task.pod_template
    assert isinstance(template, flyte.PodTemplate)
    assert template.primary_container_name == "primary"
    assert [(c.name, c.image) for c in template.pod_spec.containers] == [("primary", "ghcr.io/acme/train:1")]


def test_image_with_primary_container_name():
    task = apply_task_env(tasks.dump, cfg_with({"image": "img:2", "primary_container_name": "main"}))
    assert task.pod_template.primary_container_name == "main"
    assert [(c.name, c.image) for c in task.pod_template.pod_spec.containers] == [("main", "img:2")]


def test_inline_template_is_copied_with_only_the_image_changed():
    original = tasks.with_inline_template.pod_template
    cfg = cfg_with({"image": "new:2"}, name="with_inline_template")
    task = apply_task_env(tasks.with_inline_template, cfg)
    template = task.pod_template
    assert template is not original
    trainer, sidecar = template.pod_spec.containers
    assert (trainer.name, trainer.image, trainer.args) == ("trainer", "new:2", ["--x"])
    assert sidecar.name == "sidecar" and sidecar.image is None
    assert template.labels == {"team": "ml"} and template.pod_spec.tolerations[0].key == "gpu"
    assert original.pod_spec.containers[0].image == "old:1"


def test_named_pod_template_cannot_take_an_image():
    cfg = cfg_with({"image": "new:2"}, name="with_named_template")
    with pytest.raises(ConfigurationError, match="named pod template 'cluster-gpu-template'"):
        apply_task_env(tasks.with_named_template, cfg)


def test_named_pod_template_still_takes_resources():
    cfg = cfg_with({"resources": {"cpu": "1"}}, name="with_named_template")
    assert apply_task_env(tasks.with_named_template, cfg).resources == flyte.Resources(cpu="1")


def test_primary_container_name_without_image_is_rejected():
    with pytest.raises(ConfigurationError, match=r"'task_env.dump.primary_container_name' only applies together"):
        apply_task_env(tasks.dump, cfg_with({"primary_container_name": "main"}))


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"task_env": ["dump"]}, r"'task_env' must map task names to settings, got ListConfig"),
        ({"task_env": {"dump": "big"}}, r"'task_env.dump' must be a mapping of task.override settings, got str"),
        ({"task_env": {"dump": {"resources": "big"}}}, r"'task_env.dump.resources' must be a mapping"),
        ({"task_env": {"dump": {"colour": "red"}}}, r"'task_env.dump' has unknown setting\(s\) colour; allowed:"),
        ({"task_env": {"dump": {"image": 3}}}, r"'task_env.dump.image' must be a container image reference"),
        ({"task_env": {"dump": {"resources": {"cpus": 2}}}}, r"'task_env.dump.resources' is not valid"),
    ],
)
def test_malformed_task_env_names_the_key(cfg, message):
    with pytest.raises(ConfigurationError, match=message):
        apply_task_env(tasks.dump, OmegaConf.create(cfg))


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"cpu": "lots"}, r"'task_env.dump.resources.cpu' is 'lots', which is not a valid cpu; use a core count"),
        ({"cpu": -1}, r"'task_env.dump.resources.cpu' is -1, .*'500m'"),
        ({"cpu": True}, r"'task_env.dump.resources.cpu' is True"),
        ({"cpu": [1, 2, 3]}, r"'task_env.dump.resources.cpu' is \[1, 2, 3\], .*\[request, limit\] pair"),
        ({"memory": "plenty"}, r"'task_env.dump.resources.memory' is 'plenty', .*'512Mi', '8Gi', '1G'"),
        ({"memory": 1024}, r"'task_env.dump.resources.memory' is 1024, .*quantity string"),
        ({"memory": ["1Gi", "lots"]}, r"'task_env.dump.resources.memory' is \['1Gi', 'lots'\]"),
        ({"disk": "10 Gi"}, r"'task_env.dump.resources.disk' is '10 Gi'"),
        ({"shm": "most"}, r"'task_env.dump.resources.shm' is 'most', .*or 'auto'"),
    ],
)
def test_malformed_resource_quantities_are_rejected_naming_the_key_and_the_accepted_forms(resources, message):
    with pytest.raises(ConfigurationError, match=message):
        apply_task_env(tasks.dump, cfg_with({"resources": resources}))


def test_well_formed_quantities_and_yaml_request_limit_pairs_are_accepted():
    resources = {"cpu": [0.5, "2"], "memory": ["1Gi", "4Gi"], "disk": "100G", "shm": "auto"}
    task = apply_task_env(tasks.dump, cfg_with({"resources": resources}))
    assert task.resources == flyte.Resources(cpu=(0.5, "2"), memory=("1Gi", "4Gi"), disk="100G", shm="auto")
    assert apply_task_env(tasks.dump, cfg_with({"resources": {"cpu": "500m"}})).resources.cpu == "500m"


def test_a_sweep_with_a_malformed_cpu_runs_no_job(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ConfigurationError, match=r"none was run:\n.*'task_env.touch_marker.resources.cpu' is 'lots'"):
        hydra_sweep(
            tasks.touch_marker,
            config_path=str(APPS / "conf"),
            config_name="app",
            mode="local",
            marker=str(marker),
            overrides=["x=1,2", "+task_env.touch_marker.resources.cpu=lots", f"hydra.sweep.dir={tmp_path / 's'}"],
        )
    assert not marker.exists()


def test_task_is_returned_unchanged_when_nothing_applies():
    assert apply_task_env(tasks.dump, OmegaConf.create({"x": 1})) is tasks.dump
    assert apply_task_env(tasks.dump, cfg_with({"cpu": "1"}, name="other_task")) is tasks.dump
    assert apply_task_env(tasks.dump, OmegaConf.create({"task_env": None})) is tasks.dump


def test_struct_configs_without_a_task_env_or_with_it_missing_apply_nothing():
    """A composed config is in struct mode: a key it lacks is absent (not an error), and `???` counts as absent."""
    without = OmegaConf.create({"x": 1})
    OmegaConf.set_struct(without, True)
    missing = OmegaConf.create({"task_env": "???", "x": 1})
    OmegaConf.set_struct(missing, True)
    assert apply_task_env(tasks.dump, without) is tasks.dump
    assert apply_task_env(tasks.dump, missing) is tasks.dump
    with_entry = cfg_with({"resources": {"cpu": "3"}})
    OmegaConf.set_struct(with_entry, True)
    assert apply_task_env(tasks.dump, with_entry).resources == flyte.Resources(cpu="3")


def test_custom_task_env_key_and_task_name():
    cfg = cfg_with({"resources": {"cpu": "3"}}, key="hardware", name="trainer")
    assert apply_task_env(tasks.dump, cfg) is tasks.dump
    task = apply_task_env(tasks.dump, cfg, task_env_key="hardware", task_name="trainer")
    assert task.resources == flyte.Resources(cpu="3")


def test_entry_task_with_a_bad_task_env_fails_that_job_with_the_key_named(tmp_path):
    from flyteplugins.hydra import JobFailedError

    with pytest.raises(JobFailedError, match=r"'task_env.dump.primary_container_name' only applies together"):
        hydra_run(
            tasks.dump,
            config_path=str(tmp_path.parent),
            config_name=None,
            mode="local",
            overrides=["+task_env.dump.primary_container_name=main", "+x=1"],
        )


def test_walkthrough_presets_run_locally_through_parent_and_child(in_examples):
    import train

    result = hydra_run(
        train.pipeline,
        config_path="conf",
        config_name="training",
        mode="local",
        overrides=["+task_env=a100"],
        dataset="imagenet",
    )
    assert isinstance(result.value, float)
