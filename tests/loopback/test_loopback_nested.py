"""Tasks that call other tasks: child actions go through QueueService and StateService."""

import flyte
import flyte.errors
import loopback_tasks
import pytest
from flyte.models import ActionPhase
from flyte.remote import Action
from flyte_loopback import LoopbackServer


@pytest.fixture
def nested(flyte_loopback: LoopbackServer) -> LoopbackServer:
    flyte_loopback.nested = True
    flyte_loopback.init_flyte()
    return flyte_loopback


def test_a_task_can_call_child_tasks(nested: LoopbackServer) -> None:
    run = flyte.with_runcontext(mode="remote").run(loopback_tasks.add_twice, x=1, y=2)
    run.wait(quiet=True)

    assert run.outputs()[0] == 6
    assert nested.counters["EnqueueAction"] == 2
    children = [a for a in Action.listall(for_run_name=run.name) if a.name != "a0"]
    assert [a.phase for a in children] == [ActionPhase.SUCCEEDED] * 2


def test_a_failing_child_fails_its_parent_with_the_child_error(nested: LoopbackServer) -> None:
    run = flyte.with_runcontext(mode="remote").run(loopback_tasks.call_failing_child, reason="child broke")
    run.wait(quiet=True)

    assert run.phase == ActionPhase.FAILED
    with pytest.raises(flyte.errors.RuntimeUserError, match="child broke"):
        run.raise_for_status()
