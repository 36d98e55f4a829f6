"""The services a running task's controller uses to launch and follow child actions.

When a task calls another task, the SDK's remote controller uploads the child's inputs, calls
`QueueService/EnqueueAction`, and follows the children of its action through the
`StateService/Watch` stream (a sentinel first, then one `ActionUpdate` per phase change).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from flyteidl2.task import common_pb2
from flyteidl2.workflow import queue_service_pb2 as qs_pb2
from flyteidl2.workflow import state_service_pb2 as ss_pb2
from flyteidl2.workflow.queue_service_connect import QueueService
from flyteidl2.workflow.state_service_connect import StateService

from ._plane import ControlPlane

logger = logging.getLogger(__name__)


class LoopbackQueueService(QueueService):
    """Start child actions (tasks only) and abort them."""

    def __init__(self, plane: ControlPlane) -> None:
        self._plane = plane

    async def enqueue_action(self, request: qs_pb2.EnqueueActionRequest, ctx: Any) -> qs_pb2.EnqueueActionResponse:
        if not request.HasField("task"):
            raise ConnectError(Code.UNIMPLEMENTED, "flyte_loopback only runs task actions (no traces or conditions)")
        run = self._plane.store.runs.get(request.action_id.run.name)
        if run is None:
            raise ConnectError(Code.NOT_FOUND, f"Run {request.action_id.run.name!r} does not exist")
        if request.action_id.name in run.actions:
            return qs_pb2.EnqueueActionResponse()  # the controller re-enqueues on retries: keep the first
        try:
            inputs = common_pb2.Inputs.FromString(await asyncio.to_thread(Path(request.input_uri).read_bytes))
        except OSError as e:
            raise ConnectError(Code.INVALID_ARGUMENT, f"Cannot read inputs at {request.input_uri}: {e}") from e
        self._plane.add_action(
            run,
            request.action_id,
            request.task.spec,
            inputs,
            request.input_uri,
            run.run_spec,
            parent=request.parent_action_name,
            group=request.group,
        )
        return qs_pb2.EnqueueActionResponse()

    async def abort_queued_action(
        self, request: qs_pb2.AbortQueuedActionRequest, ctx: Any
    ) -> qs_pb2.AbortQueuedActionResponse:
        action = self._plane.store.action(request.action_id)
        if action is not None:
            self._plane.executor.abort(action, request.reason or "Aborted by its parent")
        return qs_pb2.AbortQueuedActionResponse()


class LoopbackStateService(StateService):
    """Stream the state of an action's children to its controller."""

    def __init__(self, plane: ControlPlane) -> None:
        self._plane = plane

    async def watch(self, request: ss_pb2.WatchRequest, ctx: Any) -> AsyncIterator[ss_pb2.WatchResponse]:
        parent = request.parent_action_id
        run = self._plane.store.runs.get(parent.run.name)
        if run is None:
            raise ConnectError(Code.NOT_FOUND, f"Run {parent.run.name!r} does not exist")
        first = True
        async for changed in run.child_updates(parent.name, self._plane.stopping):
            for action in changed:
                yield ss_pb2.WatchResponse(action_update=action.update())
            if first:
                yield ss_pb2.WatchResponse(control_message=ss_pb2.ControlMessage(sentinel=True))
                first = False
