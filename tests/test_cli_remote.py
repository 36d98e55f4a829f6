"""`flyte hydra run` in remote mode against the loopback control plane: the real flyte client on the wire."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
from cli_support import APP_CONF, CLI_README, EXAMPLES, TASKS, flat, flyte_exe, hydra_run, readme_commands
from google.protobuf import json_format

APP = ["--config-path", APP_CONF, "--config-name", "app"]
REMOTE_EXAMPLES = [c for c in readme_commands(CLI_README) if " --local " not in c]


def submitted(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("Flyte run submitted")]


def sweep_dir(tmp_path: Path) -> list[str]:
    return ["--hydra-override", f"hydra.sweep.dir={tmp_path / 'sweep'}"]


def test_single_run_prints_its_url_then_its_value(flyte_loopback):
    result = hydra_run(*APP, TASKS, "scaled", "--config", "x=4", "--scale", "3")
    assert result.exit_code == 0, result.output
    (line,) = submitted(result.stdout)
    assert line.startswith(f"Flyte run submitted: {flyte_loopback.endpoint}/")
    assert result.stdout.strip().splitlines()[-1] == "12.0"
    assert flyte_loopback.counters["CreateRun"] == 1


def test_flyte_run_options_reach_the_wire(flyte_loopback):
    result = hydra_run(
        *APP,
        "--name",
        "cli-named-run",
        "--service-account",
        "trainer-sa",
        "--image",
        "ghcr.io/acme/cli:1",
        "--label",
        "team=ml",
        "--env",
        "GREETING=hi",
        TASKS,
        "scaled",
    )
    assert result.exit_code == 0, result.output
    (request,) = flyte_loopback.requests("CreateRun")
    message = request.message
    assert message.run_id.name == "cli-named-run"
    assert message.run_spec.security_context.run_as.k8s_service_account == "trainer-sa"
    assert dict(message.run_spec.labels.values) == {"team": "ml"}
    assert {e.key: e.value for e in message.run_spec.envs.values}["GREETING"] == "hi"
    template = json_format.MessageToDict(message.task_spec.task_template)
    assert template["container"]["image"] == "ghcr.io/acme/cli:1"


def test_sweep_submits_every_job_and_reports_failures(flyte_loopback, tmp_path):
    result = hydra_run(
        *APP, "--multirun", "--wait-max-workers", "2", *sweep_dir(tmp_path), TASKS, "fails_on_two", "--cfg", "x=1,2,3"
    )
    assert result.exit_code == 1
    assert len(submitted(result.stdout)) == 3 and flyte_loopback.counters["CreateRun"] == 3
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("#")]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("#0", "x=1", "SUCCEEDED"),
        ("#1", "x=2", "FAILED"),
        ("#2", "x=3", "SUCCEEDED"),
    ]
    assert all(r[-1].startswith(flyte_loopback.endpoint) for r in rows)
    message = flat(result.stderr)
    assert "1 of 3 jobs failed" in message and "job #1 [x=2] FAILED" in message


def test_no_wait_returns_after_submission_with_the_urls(flyte_loopback, tmp_path):
    result = hydra_run(*APP, "--multirun", "--no-wait", *sweep_dir(tmp_path), TASKS, "scaled", "--config", "x=1,2")
    assert result.exit_code == 0, result.output
    lines = submitted(result.stdout)
    assert sorted(line.split(":", 1)[0] for line in lines) == ["Flyte run submitted [0]", "Flyte run submitted [1]"]
    assert all(flyte_loopback.endpoint in line for line in lines)
    assert flyte_loopback.counters.get("WatchActionDetails", 0) == 0


def test_follow_asks_for_the_logs_then_waits_for_the_result(flyte_loopback):
    result = hydra_run(*APP, "--follow", TASKS, "scaled", "--config", "x=5")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "10.0"
    assert flyte_loopback.counters.get("TailLogs", 0) >= 1
    # The loopback serves no logs; that is reported and the run is still awaited.
    assert "Could not stream the logs of" in flat(result.stderr)


def test_remote_mode_without_an_endpoint_stops_before_submitting(monkeypatch, tmp_path):
    result = hydra_run(*APP, TASKS, "scaled")
    assert result.exit_code == 1
    assert "Remote mode needs a Flyte endpoint" in flat(result.stderr)


@pytest.mark.parametrize("command", REMOTE_EXAMPLES)
def test_readme_remote_examples_run_as_written(command, flyte_loopback, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns("multirun", "outputs", "__pycache__"))
    flyte_loopback.nested = True  # pipeline awaits its child tasks
    proc = flyte_exe(*shlex.split(command)[1:], cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(flyte_loopback.endpoint in line for line in submitted(proc.stdout))
    if "--no-wait" in command:
        assert len(submitted(proc.stdout)) == 2
    else:
        float(proc.stdout.strip().splitlines()[-1])


def test_a_named_sweep_gives_each_run_its_own_name(flyte_loopback, tmp_path):
    result = hydra_run(
        *APP, "--multirun", "--name", "cli-sweep", *sweep_dir(tmp_path), TASKS, "scaled", "--config", "x=1,2"
    )
    assert result.exit_code == 0, result.output
    names = sorted(r.message.run_id.name for r in flyte_loopback.requests("CreateRun"))
    assert len(set(names)) == 2 and all(n.startswith("cli-sweep") for n in names)
