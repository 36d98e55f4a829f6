"""Write the flyte config file (`FLYTECTL_CONFIG` format) that points a client at the server.

Nothing in it enables a storage backend: the server hands out plain local paths as storage URIs
(upload locations, offloaded inputs, outputs), and the SDK reads and writes those directly.
"""

from __future__ import annotations

from pathlib import Path

import yaml

#: Image URI every environment resolves to without a build. The server never pulls or inspects
#: it: tasks run with the test's own interpreter.
LOOPBACK_IMAGE = "localhost/flyte-loopback:unused"

ORG = "loopback"
PROJECT = "loopback-project"
DOMAIN = "development"


def write_config(path: Path, endpoint: str) -> Path:
    """Write a config for `flyte.init_from_config()` and return its path.

    `task.org` is set because flyte would otherwise derive an org from the endpoint's host name
    (`"127"` for 127.0.0.1). `image.image_refs.default` makes environments that keep the default
    `image="auto"` use `LOOPBACK_IMAGE` as is, so a remote run never tries to build an image.
    """
    config = {
        "admin": {"endpoint": endpoint, "insecure": True},
        "task": {"org": ORG, "project": PROJECT, "domain": DOMAIN},
        "image": {"image_refs": {"default": LOOPBACK_IMAGE}},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
