"""Remote runs through the real flyte client against the loopback control plane."""

import flyte
import loopback_tasks
from flyte_loopback import LoopbackServer


def _run(task, **inputs):
    return flyte.with_runcontext(mode="remote").run(task, **inputs)


def test_a_remote_run_returns_the_task_output(flyte_loopback: LoopbackServer) -> None:
    flyte_loopback.init_flyte()

    run = _run(loopback_tasks.add, x=2, y=3)
    run.wait(quiet=True)

    assert run.phase == flyte.models.ActionPhase.SUCCEEDED
    assert run.outputs()[0] == 5
