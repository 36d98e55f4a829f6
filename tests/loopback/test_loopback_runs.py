"""Remote runs through the real flyte client against the loopback control plane."""

import os
import time
from pathlib import Path

import flyte
import flyte.errors
import loopback_tasks
import pytest
from flyte.models import ActionPhase
from flyte.remote import ActionDetails
from flyte_loopback import LoopbackServer


def _submit(task, **inputs):
    return flyte.with_runcontext(mode="remote").run(task, **inputs)


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def remote(flyte_loopback: LoopbackServer) -> LoopbackServer:
    flyte_loopback.init_flyte()
    return flyte_loopback


def test_a_remote_run_returns_the_task_output(remote: LoopbackServer) -> None:
    run = _submit(loopback_tasks.add, x=2, y=3)
    run.wait(quiet=True)

    assert run.phase == ActionPhase.SUCCEEDED
    assert run.outputs()[0] == 5


def test_a_failed_task_reports_its_error_to_the_client(remote: LoopbackServer) -> None:
    run = _submit(loopback_tasks.fail, reason="bad input")
    run.wait(quiet=True)

    assert run.phase == ActionPhase.FAILED
    error = run.details().action_details.error_info
    assert "task failed on purpose: bad input" in error.message
    assert error.code == "ValueError"
    with pytest.raises(flyte.errors.RuntimeUserError, match="task failed on purpose: bad input"):
        run.raise_for_status()


def test_phases_are_streamed_as_they_change(remote: LoopbackServer) -> None:
    run = _submit(loopback_tasks.sleep_then_greet, seconds=0.5, name="phases")

    phases = [details.phase for details in ActionDetails.watch(run.action.action_id)]

    assert phases[0] in (ActionPhase.QUEUED, ActionPhase.RUNNING)
    assert phases[-2:] == [ActionPhase.RUNNING, ActionPhase.SUCCEEDED]


def test_abort_kills_the_task_process_and_ends_the_run_aborted(remote: LoopbackServer, tmp_path: Path) -> None:
    pid_file = tmp_path / "task.pid"
    run = _submit(loopback_tasks.record_pid_and_wait, pid_file=str(pid_file))
    _wait_for(pid_file.exists)
    pid = int(pid_file.read_text())

    run.abort(reason="test is done with it")
    run.wait(quiet=True)

    assert run.phase == ActionPhase.ABORTED
    assert run.details().action_details.abort_info.reason == "test is done with it"
    with pytest.raises(flyte.errors.ActionAbortedError):
        run.raise_for_status()
    _wait_for(lambda: not _alive(pid), timeout=5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_several_runs_execute_at_the_same_time(remote: LoopbackServer, tmp_path: Path) -> None:
    runs = [_submit(loopback_tasks.rendezvous, folder=str(tmp_path), parties=3, timeout=30.0) for _ in range(3)]

    for run in runs:
        run.wait(quiet=True)

    assert [run.phase for run in runs] == [ActionPhase.SUCCEEDED] * 3
    assert len({run.name for run in runs}) == 3


def test_a_pod_template_task_runs_its_primary_container(remote: LoopbackServer) -> None:
    run = _submit(loopback_tasks.greeting_from_pod_env)
    run.wait(quiet=True)

    assert run.outputs()[0] == "hi"
