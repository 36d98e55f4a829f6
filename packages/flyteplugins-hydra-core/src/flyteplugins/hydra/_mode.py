"""Execution mode: make Flyte honour it whatever the user's own `flyte.init` did."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._errors import ConfigurationError


def ensure_remote_ready() -> None:
    """Initialise Flyte against the configured endpoint, or fail before anything is submitted.

    Remote mode must never silently fall back to a local run: without an endpoint `flyte.run`
    would execute in-process, so the absence of one is an error here.
    """
    from ._flyte_compat import get_init_config_or_none, resolve_config_path

    current = get_init_config_or_none()
    if current is not None and current.client is not None:
        return
    import flyte
    import flyte.config

    # Resolve the file now: flyte caches the default lookup, which may predate FLYTECTL_CONFIG being set.
    path = resolve_config_path()
    config = flyte.config.auto(path)
    if not config.platform.endpoint:
        raise ConfigurationError(
            "Remote mode needs a Flyte endpoint, but none is configured. Create a config with "
            "`flyte create config --endpoint <host>`, point FLYTECTL_CONFIG at one, or call "
            "`flyte.init(endpoint=...)` first; to run on this machine instead, use local mode "
            "(hydra.launcher.mode=local, --local, or mode='local')."
        )
    flyte.init_from_config(str(path) if path else config)


@contextlib.contextmanager
def forced_local() -> Iterator[None]:
    """Run the body with a Flyte client-less init config, so `flyte.run` executes in-process.

    A `@hydra.main` app calls `flyte.init_from_config()` and `flyte.run(...)` itself; when a config
    with an endpoint exists that would submit to a cluster. The context-scoped init config wins
    over whatever the app initialises globally, so local mode stays local. A task that calls
    `sys.exit` in here fails instead of hanging the run (see `contain_task_exits`).
    """
    import flyte

    from ._flyte_compat import contain_task_exits, get_init_config_or_none, init_config_context

    contain_task_exits()
    current = get_init_config_or_none()
    if current is None:
        flyte.init()
        current = get_init_config_or_none()
    assert current is not None
    with init_config_context(current.replace(client=None)):
        yield
