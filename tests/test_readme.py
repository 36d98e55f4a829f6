"""The README's commands and SDK examples run as written."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text()


def first_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", README, re.DOTALL)
    assert block, "README must open with a bash block of two commands"
    return block.group(1).strip().splitlines()


def python_blocks_using_the_sdk() -> list[str]:
    """SDK examples that run on their own (one naming an earlier sweep's directory needs that sweep first)."""
    blocks = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    runnable = [b for b in blocks if ("hydra_run(" in b or "hydra_sweep(" in b) and "rerun_failed=" not in b]
    return [b for b in runnable if "wait=False" not in b and 'driver="cluster"' not in b]  # remote ones: below


def long_sweep_section() -> str:
    return README.split("## Long sweeps", 1)[1].split("\n## ", 1)[0]


def test_readme_opens_with_the_walkthrough_and_the_test_command():
    walkthrough, tests = first_commands()
    assert "examples" in walkthrough and "train.py --multirun" in walkthrough and "mode=local" in walkthrough
    test_command = tests.split("&&")[-1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_walkthrough_command_runs_a_local_sweep(tmp_path):
    walkthrough = first_commands()[0].split("&&")[-1].strip()
    argv = [*shlex.split(walkthrough), f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "6 succeeded, 0 failed" in proc.stdout
    assert len([p for p in (tmp_path / "sweep").iterdir() if p.is_dir()]) == 6


@pytest.mark.parametrize("index", range(len(python_blocks_using_the_sdk())))
def test_sdk_examples_run(index, in_examples):
    import train
    from hydra.core.config_store import ConfigStore

    namespace = {
        "pipeline": train.pipeline,
        "ConfigStore": ConfigStore,
        "StructuredTrainingConf": train.StructuredTrainingConf,
    }
    exec(python_blocks_using_the_sdk()[index], namespace)
    from flyteplugins.hydra import RunResult

    produced = namespace.get("results") or [namespace.get("result")]
    assert produced and all(isinstance(r, RunResult) and isinstance(r.value, float) for r in produced)


def test_long_sweep_examples_run_as_written(flyte_loopback, in_examples, tmp_path):
    """Submit without waiting, then every `flyte hydra` line and the `Sweep` block, on the loopback."""
    import train
    from cli_support import flyte_cli

    from flyteplugins.hydra import RunResult, Sweep, hydra_sweep

    section = long_sweep_section()
    submit, attach = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    commands = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)[0].strip().splitlines()
    placeholder_dir = "multirun/2026-11-29/14-00-00"
    sweep_dir = str(tmp_path / "sweep")
    flyte_loopback.nested = True  # pipeline awaits its child tasks
    exec(submit.replace(placeholder_dir, sweep_dir), {"pipeline": train.pipeline, "hydra_sweep": hydra_sweep})
    sweep_id = Sweep.open(sweep_dir).id

    for command in commands:
        argv = shlex.split(command.replace(placeholder_dir, sweep_dir).replace("1a2b3c4d", sweep_id))
        result = flyte_cli(*argv[1:])
        assert result.exit_code == 0, (command, result.output)
    namespace: dict = {"Sweep": Sweep}
    exec(attach.replace(placeholder_dir, sweep_dir), namespace)

    assert len(namespace["results"]) == 2
    assert all(isinstance(r, RunResult) and isinstance(r.value, float) for r in namespace["results"])


def test_cluster_driver_example_runs_as_written(flyte_loopback, in_examples):
    """The driver=cluster example: one run on the loopback, its jobs child actions (which await their own)."""
    import train

    from flyteplugins.hydra import RunResult

    section = README.split("## The whole sweep as one Flyte run", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    flyte_loopback.nested = True
    namespace: dict = {"pipeline": train.pipeline}
    exec(example, namespace)

    assert len(namespace["results"]) == 2
    assert all(isinstance(r, RunResult) and isinstance(r.value, float) for r in namespace["results"])
    assert flyte_loopback.counters["CreateRun"] == 1


_NOT_OURS = frozenset({"node_modules", "outputs", "multirun", "test-artifacts", "dist"})


def markdown_files() -> list[str]:
    """The repository's Markdown files: git's list in a checkout, else the tree (CI's lowest stage runs on a copy)."""
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=False)
    if listed.returncode == 0:
        return listed.stdout.split()
    found = (path.relative_to(ROOT) for path in ROOT.rglob("*.md"))
    return sorted(str(p) for p in found if not any(part.startswith(".") or part in _NOT_OURS for part in p.parts))


def shell_examples() -> list[tuple[str, str]]:
    """Every shell example in the repository's Markdown, as a user would paste it (console: the `$ ` lines)."""
    examples = []
    for name in markdown_files():
        text = (ROOT / name).read_text(encoding="utf-8")
        for lang, body in re.findall(r"```(bash|sh|shell|console)\n(.*?)```", text, re.DOTALL):
            lines = body.splitlines()
            if lang == "console":
                lines = [line[2:] for line in lines if line.startswith("$ ")]
            examples.append((name, "\n".join(lines)))
    return examples


@pytest.mark.parametrize(("name", "script"), shell_examples(), ids=lambda value: str(value)[:40])
def test_shell_examples_are_valid_bash_as_written(name, script):
    proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=10, check=False)
    assert proc.returncode == 0, f"{name}: a shell example does not parse as bash:\n{script}\n{proc.stderr}"


def test_shell_examples_are_found():
    assert len(shell_examples()) >= 10


def test_engine_api_example_runs_as_written(in_examples, capsys):
    import train

    (block,) = [b for b in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if "LaunchRequest(" in b]
    namespace: dict = {"pipeline": train.pipeline}
    exec(block, namespace)
    outcomes = namespace["outcomes"]
    assert [(o.num, o.phase) for o in outcomes] == [(0, "SUCCEEDED"), (1, "SUCCEEDED")]
    assert all(isinstance(o.result.value, float) for o in outcomes)
    assert "'max_parallel'" in capsys.readouterr().out
