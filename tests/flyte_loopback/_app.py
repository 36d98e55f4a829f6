"""The ASGI application: Connect services, the signed-URL upload endpoint and a catch-all.

Requests for RPCs that no service implements are still recorded and answered `unimplemented`,
so a test (or a person reading the request log) sees what the client tried to call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import struct
from collections.abc import Callable

from connectrpc.errors import ConnectError
from flyteidl2.cluster.service_connect import ClusterServiceASGIApplication
from flyteidl2.dataproxy.dataproxy_service_connect import DataProxyServiceASGIApplication
from flyteidl2.workflow.queue_service_connect import QueueServiceASGIApplication
from flyteidl2.workflow.run_service_connect import RunServiceASGIApplication
from flyteidl2.workflow.state_service_connect import StateServiceASGIApplication
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ._controller_services import LoopbackQueueService, LoopbackStateService
from ._faults import DropConnectionsMiddleware, TrafficInterceptor, admit
from ._plane import ControlPlane
from ._services import LoopbackClusterService, LoopbackDataProxyService, LoopbackRunService
from ._traffic import UPLOAD_RPC, TrafficControl

logger = logging.getLogger(__name__)

_END_STREAM_FLAG = 0x02

#: HTTP status of each Connect error code, from the Connect protocol specification.
_HTTP_STATUS = {
    "canceled": 499,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "unavailable": 503,
    "unauthenticated": 401,
}


def _connect_apps(plane: ControlPlane, endpoint: str, interceptor: TrafficInterceptor) -> list[BaseRoute]:
    apps = [
        ClusterServiceASGIApplication(LoopbackClusterService(), interceptors=[interceptor]),
        DataProxyServiceASGIApplication(LoopbackDataProxyService(plane, endpoint), interceptors=[interceptor]),
        RunServiceASGIApplication(LoopbackRunService(plane), interceptors=[interceptor]),
        QueueServiceASGIApplication(LoopbackQueueService(plane), interceptors=[interceptor]),
        StateServiceASGIApplication(LoopbackStateService(plane), interceptors=[interceptor]),
    ]
    return [Mount(app.path, app=app) for app in apps]


def _upload_route(plane: ControlPlane, traffic: TrafficControl) -> Route:
    uploads = (plane.storage_dir / "uploads").resolve()

    async def put_upload(request: Request) -> Response:
        relative = request.path_params["path"]
        try:
            await admit(traffic, UPLOAD_RPC, "http", relative)
        except ConnectError as e:
            return Response(e.message, status_code=_HTTP_STATUS.get(e.code.value, 500))
        target = (uploads / relative).resolve()
        if not target.is_relative_to(uploads):
            return Response(f"{relative} escapes the upload folder", status_code=400)
        body = await request.body()
        expected_md5 = request.headers.get("content-md5")
        if expected_md5 and base64.b64encode(hashlib.md5(body).digest()).decode() != expected_md5:
            return Response("Content-MD5 does not match the body", status_code=400)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        logger.info("Stored upload %s (%d bytes)", target, len(body))
        return Response(status_code=200)

    return Route("/upload/{path:path}", put_upload, methods=["PUT"])


def _unimplemented_route(traffic: TrafficControl) -> Route:
    async def unimplemented(request: Request) -> Response:
        service, method = request.path_params["service"], request.path_params["method"]
        try:
            await admit(traffic, method, service, None)
        except ConnectError as e:
            code, message = e.code.value, e.message
        else:
            code, message = "unimplemented", f"flyte_loopback does not implement {service}/{method}"
            logger.warning("Unimplemented RPC called: %s/%s", service, method)
        error = {"code": code, "message": message}
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/connect+"):
            payload = json.dumps({"error": error}).encode()
            body = struct.pack(">BI", _END_STREAM_FLAG, len(payload)) + payload
            return Response(body, media_type=content_type)
        status = _HTTP_STATUS.get(code, 500)
        return Response(json.dumps(error), status_code=status, media_type="application/json")

    return Route("/{service}/{method}", unimplemented, methods=["POST"])


def build_app(plane: ControlPlane, traffic: TrafficControl, endpoint: str) -> Callable:
    """Assemble the ASGI app serving `plane` at `endpoint`, with `traffic` applied to every request."""
    interceptor = TrafficInterceptor(traffic)
    routes = [
        *_connect_apps(plane, endpoint, interceptor),
        _upload_route(plane, traffic),
        _unimplemented_route(traffic),
    ]
    return DropConnectionsMiddleware(Starlette(routes=routes))
