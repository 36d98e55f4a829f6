"""`flyte hydra run` as users run it: the installed `flyte` executable, found through its entry point.

The README examples run here as written, from a copy of the walkthrough project.
"""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import APP_CONF, CLI_README, EXAMPLES, ROOT, TASKS, flat, flyte_exe, readme_commands

LOCAL_EXAMPLES = sorted(
    {c for readme in (CLI_README, ROOT / "README.md") for c in readme_commands(readme) if " --local " in c}
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the walkthrough project, so runs write their outputs outside the repository."""
    shutil.copytree(EXAMPLES, tmp_path / "project", ignore=shutil.ignore_patterns("multirun", "outputs", "__pycache__"))
    return tmp_path / "project"


def test_the_hydra_command_is_registered_through_flytes_plugin_entry_point():
    (entry_point,) = [
        e for e in importlib.metadata.entry_points(group="flyte.plugins.cli.commands") if e.name == "hydra"
    ]
    assert entry_point.value == "flyteplugins.hydra_cli:hydra"
    assert entry_point.dist is not None and entry_point.dist.name == "flyte-hydra-cli"
    listing = flyte_exe("--help", cwd=ROOT)
    assert listing.returncode == 0 and " hydra " in listing.stdout
    run_help = flyte_exe("hydra", "run", "--help", cwd=ROOT)
    assert run_help.returncode == 0 and "SCRIPT TASK_NAME [TASK ARGS]..." in run_help.stdout


def test_the_entry_point_module_imports_only_click():
    probe = (
        "import sys; before = set(sys.modules); import flyteplugins.hydra_cli; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    ours_or_click = [m for m in loaded if m.startswith(("flyteplugins", "click"))]
    assert {"flyteplugins.hydra_cli", "flyteplugins.hydra_cli._group", "click"} <= set(ours_or_click)
    heavy = [m for m in loaded if m.split(".")[0] in {"flyte", "hydra", "omegaconf", "rich", "rich_click", "flyteidl2"}]
    assert heavy == []


def test_the_examples_are_in_the_readmes():
    assert len(LOCAL_EXAMPLES) >= 4
    assert len([c for c in readme_commands(CLI_README) if " --local " not in c]) >= 2


@pytest.mark.parametrize("command", LOCAL_EXAMPLES)
def test_readme_local_examples_run_as_written(command, project):
    proc = flyte_exe(*shlex.split(command)[1:], cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if "--multirun" in command:
        assert re.search(r"^\d+ succeeded, 0 failed$", proc.stdout, re.MULTILINE)
    else:
        float(proc.stdout.strip().splitlines()[-1])


def test_a_failed_job_exits_nonzero_from_the_executable(tmp_path):
    proc = flyte_exe(
        "hydra", "run", "--local", "-m", "--config-path", APP_CONF, "--config-name", "app", TASKS, "fails_on_two",
        "--cfg", "x=1,2",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "1 of 2 jobs failed: job #1 [x=2] FAILED" in flat(proc.stderr)


def test_a_user_error_is_one_message_without_a_traceback(project):
    proc = flyte_exe(
        "hydra", "run", "--local", "--config-path", "conf", "--config-name", "training", "train.py", "pipeline",
        "--dataset", "d", "--cfg", "model=nope",
        cwd=project,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "Could not compose the config: In 'training': Could not find 'model/nope'" in flat(proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
