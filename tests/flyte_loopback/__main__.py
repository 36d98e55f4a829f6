"""Run the loopback control plane standalone: `cd tests && python -m flyte_loopback --port 8090`.

It prints the endpoint and the path of a ready-made flyte config (and, when stopped, the requests
per RPC as JSON after `counters: `); point a client at it with
`FLYTECTL_CONFIG=<path>` or `flyte.init_from_config(<path>)`. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import threading
from pathlib import Path

from ._server import LoopbackServer

logger = logging.getLogger("flyte_loopback")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flyte_loopback", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--storage",
        type=Path,
        default=None,
        help="folder for uploads, inputs, action work dirs and config.yaml (default: a new temp dir)",
    )
    parser.add_argument("--nested", action="store_true", help="let tasks call child tasks (slower start-up)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every RPC's answer")
    parser.add_argument("--max-running", type=int, default=None, help="task processes at once (0: run none)")
    parser.add_argument("--simulate", type=float, default=None, help="succeed each run after SECONDS, no task")
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    storage = args.storage or Path(tempfile.mkdtemp(prefix="flyte-loopback-"))
    server = LoopbackServer(storage, port=args.port, nested=args.nested).start()
    server.set_latency(args.latency)
    server.limit_running(args.max_running)
    server.simulate(args.simulate)
    print(f"endpoint: {server.endpoint}", flush=True)
    print(f"flyte config: {server.config_path}  (export FLYTECTL_CONFIG={server.config_path})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        print(f"counters: {json.dumps(server.counters)}", flush=True)
        server.stop()


if __name__ == "__main__":
    main()
