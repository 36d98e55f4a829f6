"""Code written for flyteplugins-hydra 2.12.1 keeps working: every later release must pass this file unchanged.

Each test is spelled the way 2.x user code was: SDK calls relying on 2.x defaults (`config_name`
"config", `overrides=None`), the launcher config imported by its 2.x names, apps comparing the
launcher's `_target_`, and `result.phase == ActionPhase.SUCCEEDED`. What 3.0 changed on purpose is
in CHANGELOG.md, "Upgrading from 2.x", and pinned by the last tests here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from apps import tasks
from conftest import ROOT
from flyte.models import ActionPhase

from flyteplugins.hydra import ConfigurationError, JobFailedError, SweepFailedError, hydra_run, hydra_sweep

APP_CONF = str(Path(tasks.__file__).parent / "conf")  # has app.yaml and no config.yaml
CONF_2X = str(Path(tasks.__file__).parent / "conf_2x")  # holds config.yaml, the 2.x default primary config
OLD_TARGET = "hydra_plugins.hydra_flyte_launcher.FlyteLauncher"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- SDK defaults ----------------------------------------------------------------------------


def test_config_name_defaults_to_config():
    result = hydra_run(tasks.dump, config_path=CONF_2X, overrides=["x=3"], mode="local")
    assert '"name": "two-x"' in result.value and '"x": 3' in result.value


def test_sweep_config_name_defaults_to_config():
    results = hydra_sweep(tasks.scaled, config_path=CONF_2X, overrides=["x=1,2"], mode="local")
    assert [r.value for r in results] == [2.0, 4.0]


def test_a_missing_default_primary_config_is_reported_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ConfigurationError, match=r"primary config 'config' was not found in .*apps/conf \(") as info:
        hydra_run(
            tasks.touch_marker, config_path=str(ROOT / "tests" / "apps" / "conf"), mode="local", marker=str(marker)
        )
    assert "what is composed when config_name is not given" in str(info.value) and not marker.exists()


def test_overrides_none_means_no_overrides():
    assert '"x": 1' in hydra_run(tasks.dump, config_path=CONF_2X, overrides=None, mode="local").value
    assert [r.value for r in hydra_sweep(tasks.scaled, config_path=CONF_2X, overrides=None, mode="local")] == [2.0]


def test_phase_compares_equal_to_action_phase_and_its_name():
    result = hydra_run(tasks.scaled, config_path=CONF_2X, mode="local")
    assert result.phase == ActionPhase.SUCCEEDED
    assert result.phase == "SUCCEEDED"
    assert result.phase != ActionPhase.FAILED


def test_multi_output_value_indexes_and_names_like_action_outputs():
    result = hydra_run(tasks.pair, config_path=CONF_2X, mode="local")
    assert result.value == (1, "two-x") and result.value[1] == "two-x"
    assert result.value.o0 == 1 and result.value.named_outputs == {"o0": 1, "o1": "two-x"}
    first, second = result
    assert (first, second) == (1, "two-x")


# -- the launcher plugin ---------------------------------------------------------------------


def test_launcher_names_import_from_the_plugin_package():
    from flyteplugins.hydra import FlyteLauncher as CoreLauncher
    from hydra_plugins.hydra_flyte_launcher import FlyteLauncher, FlyteLauncherConfig

    assert issubclass(FlyteLauncher, CoreLauncher)
    config = FlyteLauncherConfig()
    assert (config._target_, config.mode, config.wait, config.wait_max_workers) == (OLD_TARGET, "remote", True, 32)


def test_the_composed_launcher_target_is_the_2x_string():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=CONF_2X, version_base=None):
        cfg = compose("config", overrides=["hydra/launcher=flyte"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_ == OLD_TARGET


def test_importing_the_plugin_package_stays_light():
    """Hydra scans the package for every app; it must not pull in flyte."""
    probe = (
        "import sys, hydra.core.utils, hydra.plugins.launcher\n"
        "import hydra_plugins.hydra_flyte_launcher as p\n"
        "assert p.FlyteLauncher and p.FlyteLauncherConfig\n"
        "heavy = sorted(m for m in ('flyte', 'rich', 'kubernetes') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


APP_2X = """
import flyte, hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from apps import tasks


@hydra.main(version_base=None, config_path={conf!r}, config_name="config")
def main(cfg: DictConfig):
    target = OmegaConf.select(HydraConfig.get(), "launcher._target_")
    if target != {target!r}:
        raise SystemExit("not launched by Flyte: " + str(target))
    flyte.init_from_config()
    return flyte.run(tasks.scaled, config=cfg)


if __name__ == "__main__":
    main()
"""


def test_a_2x_app_checking_the_launcher_target_takes_the_flyte_branch(tmp_path):
    from conftest import run_script

    app = tmp_path / "train_2x.py"
    app.write_text(APP_2X.format(conf=CONF_2X, target=OLD_TARGET))
    overrides = [
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=local",
        "x=1,2",
        f"hydra.sweep.dir={tmp_path}",
    ]
    proc = run_script(app, *overrides, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 succeeded, 0 failed" in proc.stdout
    # Local runs print nothing of their own: their metadata folder shows only in the summary table's url column.
    lines = (proc.stdout + proc.stderr).splitlines()
    assert [line for line in lines if "/tmp/flyte/metadata" in line and not line.startswith("#")] == []


# -- what 3.0 changed on purpose (CHANGELOG.md, "Upgrading from 2.x") ------------------------


def test_a_failed_run_raises_instead_of_returning_the_exception():
    with pytest.raises(JobFailedError, match="x=2 is not allowed") as info:
        hydra_run(tasks.fails_on_two, config_path=CONF_2X, overrides=["x=2"], mode="local")
    assert info.value.__cause__ is info.value.outcome.error  # what 2.x returned is the error's cause


def test_a_sweep_with_failures_raises_with_every_result():
    with pytest.raises(SweepFailedError) as info:
        hydra_sweep(tasks.fails_on_two, config_path=CONF_2X, overrides=["x=1,2,3"], mode="local")
    results = info.value.results
    assert (results[0].value, results[1], results[2].value) == (1.0, None, 3.0)


def test_task_inputs_the_task_does_not_take_are_an_error():
    with pytest.raises(ConfigurationError, match="dataset"):
        hydra_run(tasks.scaled, config_path=CONF_2X, mode="local", dataset="imagenet")


# -- remote, against the loopback control plane ----------------------------------------------


def test_remote_defaults_and_phase(flyte_loopback, monkeypatch):
    monkeypatch.chdir(ROOT)  # the code bundle is made from the current folder: the tests' own
    result = hydra_run(tasks.scaled, config_path=CONF_2X, overrides=None)
    assert result.value == 2.0 and result.url.startswith(flyte_loopback.endpoint)
    assert result.phase == ActionPhase.SUCCEEDED and result.phase == "SUCCEEDED"
    runs = hydra_sweep(tasks.scaled, config_path=CONF_2X, overrides=["x=1,2"])
    assert [r.value for r in runs] == [2.0, 4.0]
    assert all(r.phase == ActionPhase.SUCCEEDED for r in runs)
