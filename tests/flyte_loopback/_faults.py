"""Apply `TrafficControl` to live requests: record them, delay them, fail them or drop them.

Connect errors are raised from a server interceptor, where the decoded request is at hand. A
dropped connection cannot be expressed in Connect, so the interceptor only flags the request and
`DropConnectionsMiddleware` turns whatever the app answers into response headers followed by a
closed socket: the client then fails mid-response, as it would on a real network cut.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from connectrpc.code import Code
from connectrpc.errors import ConnectError

from ._traffic import DROP, TrafficControl

logger = logging.getLogger(__name__)


class _DropFlag:
    requested = False


_current_drop: ContextVar[_DropFlag | None] = ContextVar("flyte_loopback_drop", default=None)


async def admit(traffic: TrafficControl, rpc: str, service: str, message: Any) -> None:
    """Record one request, wait out its latency and raise its injected fault, if any."""
    delay, fault = traffic.admit(rpc, service, message)
    if delay:
        await asyncio.sleep(delay)
    if fault is None:
        return
    if fault.code == DROP:
        logger.info("Dropping the connection of %s/%s (injected)", service, rpc)
        flag = _current_drop.get()
        if flag is not None:
            flag.requested = True
        raise ConnectError(Code.UNAVAILABLE, fault.message)
    logger.info("Answering %s/%s with injected error %s", service, rpc, fault.code)
    raise ConnectError(Code(fault.code), fault.message)


class TrafficInterceptor:
    """Connect server interceptor (unary and server-streaming) feeding `TrafficControl`."""

    def __init__(self, traffic: TrafficControl) -> None:
        self._traffic = traffic

    async def intercept_unary(self, call_next: Callable[[Any, Any], Awaitable[Any]], request: Any, ctx: Any) -> Any:
        method = ctx.method()
        await admit(self._traffic, method.name, method.service_name, request)
        response = await call_next(request, ctx)
        late = self._traffic.answer_delay(method.name, method.service_name)
        if late:
            await asyncio.sleep(late)
        return response

    async def intercept_server_stream(
        self, call_next: Callable[[Any, Any], AsyncIterator[Any]], request: Any, ctx: Any
    ) -> AsyncIterator[Any]:
        method = ctx.method()
        await admit(self._traffic, method.name, method.service_name, request)
        async for response in call_next(request, ctx):
            yield response


class _HideDropNoise(logging.Filter):
    """Hide uvicorn's complaint about the incomplete responses that drops are made of."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


def hide_uvicorn_drop_noise() -> None:
    """Install `_HideDropNoise` on uvicorn's error logger (once per process)."""
    uvicorn_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDropNoise) for f in uvicorn_logger.filters):
        uvicorn_logger.addFilter(_HideDropNoise())


class DropConnectionsMiddleware:
    """ASGI middleware that closes the connection of requests flagged for dropping.

    It sends a 200 status with a body length it never delivers, then returns: uvicorn closes the
    socket because the response is incomplete.
    """

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self._app = app
        hide_uvicorn_drop_noise()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        flag = _DropFlag()
        token = _current_drop.set(flag)
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"application/proto")
        started = False

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if not flag.requested:
                await send(message)
                return
            if message["type"] == "http.response.start" and not started:
                started = True
                headers = [(b"content-type", content_type), (b"content-length", b"65536")]
                await send({"type": "http.response.start", "status": 200, "headers": headers})

        try:
            await self._app(scope, receive, guarded_send)
        finally:
            _current_drop.reset(token)
