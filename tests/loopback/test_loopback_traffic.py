"""The loopback server's request log, counters, injected faults and latency, seen from the flyte client."""

import socket
import time

import flyte
import flyte.errors
import flyte.remote
import httpx
import loopback_tasks
import pytest
from connectrpc.errors import ConnectError
from flyte.models import ActionPhase
from flyte_loopback import LOOPBACK_IMAGE, LoopbackServer
from flyteidl2.core import tasks_pb2
from google.protobuf import json_format


def _submit(task, **inputs):
    return flyte.with_runcontext(mode="remote").run(task, **inputs)


@pytest.fixture
def remote(flyte_loopback: LoopbackServer) -> LoopbackServer:
    flyte_loopback.init_flyte()
    return flyte_loopback


def test_create_run_records_the_task_spec_with_image_and_resources(remote: LoopbackServer) -> None:
    _submit(loopback_tasks.add, x=1, y=1)

    [request] = remote.requests("RunService/CreateRun")
    template = request.message.task_spec.task_template
    requests = {tasks_pb2.Resources.ResourceName.Name(r.name): r.value for r in template.container.resources.requests}
    assert template.container.image == LOOPBACK_IMAGE
    assert requests == {"CPU": "1", "MEMORY": "500Mi"}


def test_create_run_records_the_pod_template(remote: LoopbackServer) -> None:
    _submit(loopback_tasks.greeting_from_pod_env)

    template = remote.requests("CreateRun")[0].message.task_spec.task_template
    pod_spec = json_format.MessageToDict(template.k8s_pod.pod_spec)
    assert dict(template.k8s_pod.metadata.labels) == {"team": "loopback"}
    assert pod_spec["containers"][0]["image"] == LOOPBACK_IMAGE
    assert {"name": "GREETING", "value": "hi"} in pod_spec["containers"][0]["env"]


def test_every_connection_sends_its_answers_without_delay(remote: LoopbackServer) -> None:
    """TCP_NODELAY on each accepted connection: uvicorn writes an answer's headers and body apart, and without it
    Nagle held the body back for the client's delayed ACK, about 40 ms on every RPC (latency nobody asked for)."""
    _submit(loopback_tasks.add, x=1, y=1)

    connections = list(remote._uvicorn.server_state.connections)
    sockets = [c.transport.get_extra_info("socket") for c in connections]
    assert sockets, "the flyte client keeps its connection open"
    assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)


def test_counters_count_the_rpcs_of_a_run(remote: LoopbackServer) -> None:
    run = _submit(loopback_tasks.add, x=1, y=1)
    run.wait(quiet=True)
    run.outputs()

    counters = remote.counters
    assert counters["CreateRun"] == 1
    assert counters["UploadInputs"] == 1
    assert counters["WatchActionDetails"] >= 1
    assert counters["GetActionData"] == 1


def test_the_sdk_retries_create_run_after_an_unavailable_error(remote: LoopbackServer) -> None:
    remote.inject_fault("CreateRun", code="unavailable", times=1)

    run = _submit(loopback_tasks.add, x=20, y=22)

    assert run.name
    assert [r.fault for r in remote.requests("CreateRun")] == ["unavailable", None]


def test_a_non_retryable_error_reaches_the_caller(remote: LoopbackServer) -> None:
    remote.inject_fault("CreateRun", code="permission_denied", message="no runs for you")

    with pytest.raises(flyte.errors.RuntimeSystemError, match="no runs for you"):
        _submit(loopback_tasks.add, x=1, y=1)
    assert remote.counters["CreateRun"] == 1


def test_the_sdk_retries_create_run_after_a_dropped_connection(remote: LoopbackServer) -> None:
    remote.inject_fault("CreateRun", code="drop", times=1)

    run = _submit(loopback_tasks.add, x=1, y=2)

    assert run.name
    assert [r.fault for r in remote.requests("CreateRun")] == ["drop", None]


def test_waiting_survives_a_dropped_watch_stream(remote: LoopbackServer) -> None:
    remote.inject_fault("WatchActionDetails", code="drop", times=1)

    run = _submit(loopback_tasks.add, x=2, y=2)
    run.wait(quiet=True)

    assert run.phase == ActionPhase.SUCCEEDED
    assert remote.counters["WatchActionDetails"] >= 2


def test_a_drop_closes_the_connection_mid_response(flyte_loopback: LoopbackServer) -> None:
    flyte_loopback.inject_fault("GetRunDetails", code="drop")

    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(
            f"{flyte_loopback.endpoint}/flyteidl2.workflow.RunService/GetRunDetails",
            content=b"",
            headers={"content-type": "application/proto"},
        )


def test_latency_delays_only_the_chosen_rpc(remote: LoopbackServer) -> None:
    remote.set_latency(0.5, rpc="GetRunDetails")

    started = time.monotonic()
    with pytest.raises(ConnectError, match="does not exist"):
        flyte.remote.Run.get("no-such-run")

    assert time.monotonic() - started >= 0.5
    assert remote.requests("GetRunDetails")[0].message.run_id.name == "no-such-run"


def test_global_latency_delays_every_rpc(flyte_loopback: LoopbackServer) -> None:
    flyte_loopback.set_latency(0.3)

    started = time.monotonic()
    response = httpx.post(
        f"{flyte_loopback.endpoint}/flyteidl2.cluster.ClusterService/SelectCluster",
        content=b"",
        headers={"content-type": "application/proto"},
    )

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_unknown_rpcs_are_recorded_and_answered_unimplemented(flyte_loopback: LoopbackServer) -> None:
    response = httpx.post(
        f"{flyte_loopback.endpoint}/flyteidl2.task.TaskService/GetTaskDetails",
        content=b"",
        headers={"content-type": "application/proto"},
    )

    assert response.status_code == 501
    assert response.json()["code"] == "unimplemented"
    assert flyte_loopback.counters == {"GetTaskDetails": 1}


def test_reset_forgets_records_faults_and_latency(flyte_loopback: LoopbackServer) -> None:
    flyte_loopback.inject_fault("SelectCluster", code="internal", times=5)
    flyte_loopback.set_latency(5)
    flyte_loopback.reset()

    response = httpx.post(
        f"{flyte_loopback.endpoint}/flyteidl2.cluster.ClusterService/SelectCluster",
        content=b"",
        headers={"content-type": "application/proto"},
        timeout=2,
    )

    assert response.status_code == 200
    assert [r.rpc for r in flyte_loopback.requests()] == ["SelectCluster"]
