"""A loopback Flyte 2 control plane for tests: the real flyte client, a local server, real subprocesses.

The server speaks Flyte's Connect-RPC protocol (binary protobuf over HTTP/1.1, server streaming
included) on 127.0.0.1, so the unmodified `flyte` SDK can submit remote runs, watch them, read
their outputs and abort them. Each submitted task is executed as a subprocess running the
task's own `a0 ...` command line with this interpreter's environment.

Speaks the protocol of, and is tested with: flyte 2.12.1, flyteidl2 2.0.51, connectrpc 0.10.1
(server side built from the `flyteidl2` generated `*_connect` ASGI applications).

Use `LoopbackServer` directly, the `flyte_loopback` pytest fixture (register
`pytest_plugins = ["flyte_loopback.pytest_plugin"]`), or `python -m flyte_loopback`.
"""

from ._config import LOOPBACK_IMAGE
from ._server import LoopbackServer
from ._traffic import DROP, UPLOAD_RPC, RecordedRequest

__all__ = ["DROP", "LOOPBACK_IMAGE", "UPLOAD_RPC", "LoopbackServer", "RecordedRequest"]
