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

DEFAULT_ORG = "loopback"
DEFAULT_PROJECT = "loopback-project"
DEFAULT_DOMAIN = "development"


def write_config(
    path: Path,
    endpoint: str,
    *,
    org: str = DEFAULT_ORG,
    project: str = DEFAULT_PROJECT,
    domain: str = DEFAULT_DOMAIN,
    image: str = LOOPBACK_IMAGE,
) -> Path:
    """Write a config for `flyte.init_from_config()` and return its path.

    `image.image_refs.default` makes environments that keep the default `image="auto"` use
    `image` as is, so a remote run never tries to build one.
    """
    config = {
        "admin": {"endpoint": endpoint, "insecure": True},
        "task": {"org": org, "project": project, "domain": domain},
        "image": {"image_refs": {"default": image}},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
