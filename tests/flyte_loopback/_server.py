"""`LoopbackServer`: the control plane on a background thread, with a test-facing API.

uvicorn runs in its own thread with its own event loop, so a test can block on the synchronous
flyte client while the server keeps answering. The listening socket is bound before the thread
starts, which makes the port known (and free of races) as soon as `start()` returns.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from ._config import write_config
from ._traffic import RecordedRequest, TrafficControl

if TYPE_CHECKING:
    import uvicorn

    from ._plane import ControlPlane

logger = logging.getLogger(__name__)

_STARTUP_TIMEOUT_S = 10.0
_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"})


class LoopbackServer:
    """A Flyte control plane on `127.0.0.1` that executes submitted tasks as local subprocesses.

    Example:
        >>> with LoopbackServer(Path("/tmp/loopback")) as server:
        ...     server.init_flyte()
        ...     run = flyte.with_runcontext(mode="remote").run(my_task, x=1)
        ...     run.wait(quiet=True)

    Args:
        storage_dir: Folder for uploads, offloaded inputs and each action's work directory.
        port: Port to listen on; 0 picks a free one.
        config_path: Where to write the flyte config; defaults to `storage_dir / "config.yaml"`.
        nested: Give tasks a controller so they can call child tasks (about 0.5 s slower start-up
            per task); can also be switched later through the `nested` property.
    """

    def __init__(self, storage_dir: Path, port: int = 0, config_path: Path | None = None, nested: bool = False) -> None:
        self.storage_dir = Path(storage_dir).absolute()
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = Path(config_path or self.storage_dir / "config.yaml").absolute()
        self._requested_port = port
        self._nested = nested
        self._traffic = TrafficControl()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._plane: ControlPlane | None = None
        self._sock: socket.socket | None = None
        self.port = 0

    @property
    def nested(self) -> bool:
        """Whether tasks started from now on get a controller, so they can call child tasks."""
        return self._nested

    @nested.setter
    def nested(self, value: bool) -> None:
        self._nested = value
        if self._plane is not None:
            self._plane.executor.nested = value

    def limit_running(self, count: int | None) -> None:
        """Run at most `count` task processes at once (call after start); the others wait QUEUED."""
        assert self._plane is not None, "start the server first"
        self._plane.executor.max_running = count

    def simulate(self, seconds: float | None) -> None:
        """Let every action started from now on succeed after `seconds` with no outputs, without running
        its task (None: run tasks again). `limit_running(0)` instead keeps every run QUEUED."""
        assert self._plane is not None, "start the server first"
        self._plane.executor.simulate = seconds

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:PORT`, usable as `flyte.init(endpoint=..., insecure=True)`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        """Bind, start serving and write the flyte config; returns once requests are accepted."""
        if self._thread is not None:
            raise RuntimeError("LoopbackServer is already started")
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on connections accepted from a TCP-protocol
        # socket. Without it every answer waited ~40 ms (uvicorn writes headers and body apart, Nagle held
        # the body for the client's delayed ACK), a hidden latency on every RPC.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self._requested_port))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name=f"flyte-loopback-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not getattr(self._uvicorn, "started", False):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"flyte_loopback server on port {self.port} did not start")
            time.sleep(0.01)
        write_config(self.config_path, f"dns:///127.0.0.1:{self.port}")
        logger.info("flyte_loopback serving at %s (storage %s)", self.endpoint, self.storage_dir)
        return self

    def _serve(self) -> None:
        import uvicorn

        from ._app import build_app
        from ._plane import ControlPlane

        async def main() -> None:
            plane = ControlPlane(self.storage_dir, self.endpoint, nested=self._nested)
            self._plane = plane
            self._loop = asyncio.get_running_loop()
            config = uvicorn.Config(
                build_app(plane, self._traffic, self.endpoint),
                lifespan="off",
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=2,
            )
            server = uvicorn.Server(config)
            self._uvicorn = server
            await server.serve(sockets=[self._sock])

        asyncio.run(main())

    def stop(self) -> None:
        """Kill running actions, end watch streams, and stop serving."""
        if self._thread is None:
            return
        if self._loop is not None and self._plane is not None and self._thread.is_alive():
            shutdown = asyncio.run_coroutine_threadsafe(self._plane.shutdown(), self._loop)
            shutdown.result(timeout=10)
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._thread = None
        logger.info("flyte_loopback on port %d stopped", self.port)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def requests(self, rpc_name: str | None = None) -> list[RecordedRequest]:
        """Requests received so far, oldest first; `rpc_name` may be `CreateRun` or `RunService/CreateRun`."""
        return self._traffic.requests(rpc_name)

    @property
    def counters(self) -> dict[str, int]:
        """Number of requests received per RPC method name, e.g. `{"CreateRun": 1, ...}`."""
        return self._traffic.counters

    def inject_fault(self, rpc: str, code: str = "unavailable", times: int = 1, message: str | None = None) -> None:
        """Answer the next `times` calls of `rpc` with Connect error `code`, or close the connection (`"drop"`)."""
        self._traffic.inject_fault(rpc, code=code, times=times, message=message)

    def set_latency(self, seconds: float, rpc: str | None = None, *, after_handling: bool = False) -> None:
        """Delay answers to every RPC (or only to `rpc`) by `seconds`; 0 removes the delay.

        `after_handling=True` (unary RPCs, `rpc` required) handles the request at once and holds only
        its answer: e.g. a `CreateRun` whose run exists and runs while the client still waits.
        """
        self._traffic.set_latency(seconds, rpc=rpc, after_handling=after_handling)

    def runs(self) -> dict[str, str]:
        """Every run the server has created, by name, with its phase (`"RUNNING"`, `"ABORTED"`, ...)."""
        from flyteidl2.common import phase_pb2

        assert self._plane is not None and self._loop is not None, "start the server first"

        async def snapshot() -> dict[str, str]:
            return {
                name: phase_pb2.ActionPhase.Name(run.root.phase).removeprefix("ACTION_PHASE_")
                for name, run in self._plane.store.runs.items()
            }

        return asyncio.run_coroutine_threadsafe(snapshot(), self._loop).result(timeout=10)

    def still_running(self) -> list[str]:
        """Names of the runs not yet terminal (queued or running): what a stopped sweep must not leave behind."""
        return sorted(name for name, phase in self.runs().items() if phase not in _TERMINAL)

    def reset(self) -> None:
        """Clear recorded requests, counters, faults and latency (runs are kept)."""
        self._traffic.reset()

    def init_flyte(self, root_dir: Path | None = None) -> None:
        """Initialise the flyte SDK from this server's config file.

        `root_dir` (default: the current directory) is what flyte bundles code from: the modules
        defining the tasks you run must live under it.
        """
        import flyte

        flyte.init_from_config(str(self.config_path), root_dir=root_dir)
