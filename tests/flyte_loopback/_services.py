"""Connect service implementations the flyte SDK's client calls for a remote run.

Each class subclasses the generated `flyteidl2` service protocol, so every RPC not written out
here answers `unimplemented`, exactly like a server that lacks it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from flyteidl2.cluster import payload_pb2 as cluster_pb2
from flyteidl2.cluster.service_connect import ClusterService
from flyteidl2.common import identifier_pb2, list_pb2, phase_pb2
from flyteidl2.common import run_pb2 as common_run_pb2
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp_pb2
from flyteidl2.dataproxy.dataproxy_service_connect import DataProxyService
from flyteidl2.task import common_pb2
from flyteidl2.workflow import run_definition_pb2
from flyteidl2.workflow import run_service_pb2 as rs_pb2
from flyteidl2.workflow.run_service_connect import RunService

from ._plane import ControlPlane
from ._store import Action, Run

logger = logging.getLogger(__name__)


def _run_or_404(plane: ControlPlane, run_id: identifier_pb2.RunIdentifier) -> Run:
    run = plane.store.runs.get(run_id.name)
    if run is None:
        raise ConnectError(Code.NOT_FOUND, f"Run {run_id.name!r} does not exist on this loopback server")
    return run


def _action_or_404(plane: ControlPlane, action_id: identifier_pb2.ActionIdentifier) -> Action:
    action = plane.store.action(action_id)
    if action is None:
        raise ConnectError(Code.NOT_FOUND, f"Action {action_id.run.name}/{action_id.name} does not exist")
    return action


def _matches(run: Run, condition: list_pb2.Filter) -> bool:
    """The `ListRuns` filters `flyte.remote.Run.listall` sends for labels, phases and task names."""
    function, name, values = condition.function, condition.field, list(condition.values)
    if name.startswith("labels."):
        labels = run.run_spec.labels.values
        key = name.removeprefix("labels.")
        if function == list_pb2.Filter.EXISTS:
            return key in labels
        if function == list_pb2.Filter.EQUAL:
            return labels.get(key) in values
    elif name == "phase" and function in (list_pb2.Filter.EQUAL, list_pb2.Filter.VALUE_IN):
        return phase_pb2.ActionPhase.Name(run.root.phase) in values or str(run.root.phase) in values
    elif name == "task_name" and function == list_pb2.Filter.EQUAL:
        return run.root.task_spec.task_template.id.name in values
    raise ConnectError(
        Code.UNIMPLEMENTED,
        f"flyte_loopback cannot filter runs by {list_pb2.Filter.Function.Name(function)} on {name!r}",
    )


def _action_matches(action: Action, condition: list_pb2.Filter) -> bool:
    """The `ListActions` filters `flyte.remote.Action.listall` sends for `parent_name` and `in_phase`."""
    function, name, values = condition.function, condition.field, list(condition.values)
    if name == "parent_name" and function == list_pb2.Filter.EQUAL:
        return action.parent in values
    if name == "phase" and function in (list_pb2.Filter.EQUAL, list_pb2.Filter.VALUE_IN):
        return phase_pb2.ActionPhase.Name(action.phase) in values or str(action.phase) in values
    raise ConnectError(
        Code.UNIMPLEMENTED,
        f"flyte_loopback cannot filter actions by {list_pb2.Filter.Function.Name(function)} on {name!r}",
    )


class LoopbackClusterService(ClusterService):
    """Every resource lives on this one "cluster": an empty answer keeps the client on our endpoint."""

    async def select_cluster(
        self, request: cluster_pb2.SelectClusterRequest, ctx: Any
    ) -> cluster_pb2.SelectClusterResponse:
        return cluster_pb2.SelectClusterResponse()


class LoopbackDataProxyService(DataProxyService):
    """Upload locations on local disk (the PUT is served by the same server) and inline action data."""

    def __init__(self, plane: ControlPlane, endpoint: str) -> None:
        self._plane = plane
        self._endpoint = endpoint

    async def create_upload_location(
        self, request: dp_pb2.CreateUploadLocationRequest, ctx: Any
    ) -> dp_pb2.CreateUploadLocationResponse:
        if not request.filename:
            raise ConnectError(Code.INVALID_ARGUMENT, "CreateUploadLocation needs a filename")
        folder = (
            request.filename_root or request.content_md5.hex() or hashlib.sha256(request.filename.encode()).hexdigest()
        )
        relative = Path(request.project or "_", request.domain or "_", folder, request.filename)
        if ".." in relative.parts or relative.is_absolute():
            raise ConnectError(Code.INVALID_ARGUMENT, f"Upload path {relative} escapes the storage folder")
        native = self._plane.storage_dir / "uploads" / relative
        return dp_pb2.CreateUploadLocationResponse(
            signed_url=f"{self._endpoint}/upload/{relative.as_posix()}", native_url=str(native)
        )

    async def upload_inputs(self, request: dp_pb2.UploadInputsRequest, ctx: Any) -> dp_pb2.UploadInputsResponse:
        uri, digest = self._plane.write_inputs(request.inputs)
        return dp_pb2.UploadInputsResponse(
            offloaded_input_data=common_run_pb2.OffloadedInputData(uri=uri, inputs_hash=digest)
        )

    async def get_action_data(self, request: dp_pb2.GetActionDataRequest, ctx: Any) -> dp_pb2.GetActionDataResponse:
        action = _action_or_404(self._plane, request.action_id)
        response = dp_pb2.GetActionDataResponse(inputs=action.inputs, inputs_uri=action.inputs_uri)
        if action.outputs is not None:
            response.outputs.CopyFrom(action.outputs)
            response.outputs_uri = action.outputs_uri
        return response


class LoopbackRunService(RunService):
    """Create, watch, inspect and abort runs; actions are executed by the `ControlPlane`."""

    def __init__(self, plane: ControlPlane) -> None:
        self._plane = plane

    async def create_run(self, request: rs_pb2.CreateRunRequest, ctx: Any) -> rs_pb2.CreateRunResponse:
        if not request.HasField("task_spec"):
            raise ConnectError(
                Code.UNIMPLEMENTED,
                "flyte_loopback only runs tasks sent inline (task_spec); deployed tasks and triggers are not stored",
            )
        if request.HasField("run_id"):
            run_id = identifier_pb2.RunIdentifier()
            run_id.CopyFrom(request.run_id)
        else:
            project = request.project_id
            run_id = identifier_pb2.RunIdentifier(org=project.organization, project=project.name, domain=project.domain)
        if request.HasField("offloaded_input_data"):
            uri = request.offloaded_input_data.uri
            try:
                inputs = common_pb2.Inputs.FromString(await asyncio.to_thread(Path(uri).read_bytes))
            except OSError as e:
                raise ConnectError(Code.INVALID_ARGUMENT, f"Cannot read offloaded inputs at {uri}: {e}") from e
        else:
            inputs = request.inputs
            uri, _ = self._plane.write_inputs(inputs)
        try:
            run = self._plane.create_run(run_id, request.task_spec, inputs, uri, request.run_spec)
        except KeyError as e:
            raise ConnectError(Code.ALREADY_EXISTS, f"Run {run_id.name!r} already exists") from e
        return rs_pb2.CreateRunResponse(run=run_definition_pb2.Run(action=run.root.summary()))

    async def list_runs(self, request: rs_pb2.ListRunsRequest, ctx: Any) -> rs_pb2.ListRunsResponse:
        project = request.project_id
        matches = [
            run
            for run in self._plane.store.runs.values()
            if (not project.name or run.run_id.project == project.name)
            and (not project.domain or run.run_id.domain == project.domain)
            and all(_matches(run, f) for f in request.request.filters)
        ]
        start = int(request.request.token or 0)
        end = start + (request.request.limit or 100)
        page = [
            run_definition_pb2.Run(action=run.root.summary(), labels=dict(run.run_spec.labels.values))
            for run in matches[start:end]
        ]
        return rs_pb2.ListRunsResponse(runs=page, token=str(end) if end < len(matches) else "")

    async def abort_run(self, request: rs_pb2.AbortRunRequest, ctx: Any) -> rs_pb2.AbortRunResponse:
        run = _run_or_404(self._plane, request.run_id)
        self._plane.abort_run(run, request.reason or "Aborted")
        return rs_pb2.AbortRunResponse()

    async def abort_action(self, request: rs_pb2.AbortActionRequest, ctx: Any) -> rs_pb2.AbortActionResponse:
        action = _action_or_404(self._plane, request.action_id)
        self._plane.executor.abort(action, request.reason or "Aborted")
        return rs_pb2.AbortActionResponse()

    async def get_run_details(self, request: rs_pb2.GetRunDetailsRequest, ctx: Any) -> rs_pb2.GetRunDetailsResponse:
        run = _run_or_404(self._plane, request.run_id)
        details = run_definition_pb2.RunDetails(run_spec=run.run_spec, action=run.root.details())
        return rs_pb2.GetRunDetailsResponse(details=details)

    async def watch_run_details(
        self, request: rs_pb2.WatchRunDetailsRequest, ctx: Any
    ) -> AsyncIterator[rs_pb2.WatchRunDetailsResponse]:
        run = _run_or_404(self._plane, request.run_id)
        async for action in run.root.updates(self._plane.stopping):
            details = run_definition_pb2.RunDetails(run_spec=run.run_spec, action=action.details())
            yield rs_pb2.WatchRunDetailsResponse(details=details)

    async def get_action_details(
        self, request: rs_pb2.GetActionDetailsRequest, ctx: Any
    ) -> rs_pb2.GetActionDetailsResponse:
        action = _action_or_404(self._plane, request.action_id)
        return rs_pb2.GetActionDetailsResponse(details=action.details())

    async def watch_action_details(
        self, request: rs_pb2.WatchActionDetailsRequest, ctx: Any
    ) -> AsyncIterator[rs_pb2.WatchActionDetailsResponse]:
        action = _action_or_404(self._plane, request.action_id)
        async for update in action.updates(self._plane.stopping):
            yield rs_pb2.WatchActionDetailsResponse(details=update.details())

    async def get_action_data(self, request: rs_pb2.GetActionDataRequest, ctx: Any) -> rs_pb2.GetActionDataResponse:
        action = _action_or_404(self._plane, request.action_id)
        return rs_pb2.GetActionDataResponse(inputs=action.inputs, outputs=action.outputs)

    async def get_action_data_u_r_is(
        self, request: rs_pb2.GetActionDataURIsRequest, ctx: Any
    ) -> rs_pb2.GetActionDataURIsResponse:
        action = _action_or_404(self._plane, request.action_id)
        outputs_uri = action.outputs_uri if action.outputs is not None else ""
        return rs_pb2.GetActionDataURIsResponse(inputs_uri=action.inputs_uri, outputs_uri=outputs_uri)

    async def list_actions(self, request: rs_pb2.ListActionsRequest, ctx: Any) -> rs_pb2.ListActionsResponse:
        run = _run_or_404(self._plane, request.run_id)
        matches = [a for a in list(run.actions.values()) if all(_action_matches(a, f) for f in request.request.filters)]
        start = int(request.request.token or 0)
        end = start + (request.request.limit or 100)
        page = [a.summary() for a in matches[start:end]]
        return rs_pb2.ListActionsResponse(actions=page, token=str(end) if end < len(matches) else "")
