"""Remote runs through the real flyte client against the loopback control plane."""

import os
import time
from pathlib import Path

import flyte
import flyte.errors
import flyte.remote
import loopback_tasks
import pytest
from connectrpc.errors import ConnectError
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
    # 90 s for the three task processes to start: next to other xdist workers each start takes seconds.
    runs = [_submit(loopback_tasks.rendezvous, folder=str(tmp_path), parties=3, timeout=90.0) for _ in range(3)]

    for run in runs:
        run.wait(quiet=True)

    assert [run.phase for run in runs] == [ActionPhase.SUCCEEDED] * 3
    assert len({run.name for run in runs}) == 3


def test_a_pod_template_task_runs_its_primary_container(remote: LoopbackServer) -> None:
    run = _submit(loopback_tasks.greeting_from_pod_env)
    run.wait(quiet=True)

    assert run.outputs()[0] == "hi"


def test_runs_are_listed_by_label_with_their_labels(remote: LoopbackServer) -> None:
    first = flyte.with_runcontext(mode="remote", labels={"sweep": "s1", "job": "0"}).run(loopback_tasks.add, x=1, y=1)
    flyte.with_runcontext(mode="remote", labels={"sweep": "s2", "job": "0"}).run(loopback_tasks.add, x=2, y=2)
    flyte.with_runcontext(mode="remote").run(loopback_tasks.add, x=3, y=3)

    listed = list(flyte.remote.Run.listall(with_labels={"sweep": "s1"}))
    keyed = list(flyte.remote.Run.listall(with_label_keys=["sweep"]))

    assert [r.name for r in listed] == [first.name]
    assert dict(listed[0].pb2.labels) == {"sweep": "s1", "job": "0"}
    assert len(keyed) == 2
    assert remote.requests("ListRuns")[0].message.request.filters[0].field == "labels.sweep"


def test_run_listing_returns_every_run_up_to_the_limit(remote: LoopbackServer) -> None:
    names = {_submit(loopback_tasks.add, x=i, y=0).name for i in range(3)}

    listed = {r.name for r in flyte.remote.Run.listall(limit=3)}

    assert listed == names
    assert remote.counters["ListRuns"] == 1


def test_an_unsupported_run_filter_is_refused_by_name(remote: LoopbackServer) -> None:
    _submit(loopback_tasks.add, x=1, y=1)
    with pytest.raises(ConnectError, match="cannot filter runs by EQUAL on 'task_version'"):
        list(flyte.remote.Run.listall(task_version="v1"))
