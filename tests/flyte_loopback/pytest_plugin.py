"""pytest plugin: the `flyte_loopback` fixture, a fresh loopback control plane per test.

Register it with `pytest_plugins = ["flyte_loopback.pytest_plugin"]` in the root conftest (or
import the fixture into a directory's conftest). Start-up takes a few milliseconds, so every test
gets its own server, storage folder, request log and faults: nothing leaks between tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import LoopbackServer


def reset_flyte_init() -> None:
    """Forget `flyte.init*()` so the next test starts with the SDK uninitialised.

    flyte keeps its configuration (client, project, domain, images) in a module-level global and
    offers no public way to clear it.
    """
    import flyte._initialize as flyte_init

    with flyte_init._init_lock:
        flyte_init._init_config = None


@pytest.fixture
def flyte_loopback(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LoopbackServer]:
    """A started `LoopbackServer` whose config file is exported as `FLYTECTL_CONFIG`.

    Call `flyte_loopback.init_flyte()` (or `flyte.init_from_config()`) to point the SDK at it.
    On teardown the server kills running actions and stops, and flyte is de-initialised.
    """
    server = LoopbackServer(tmp_path_factory.mktemp("flyte-loopback"))
    server.start()
    monkeypatch.setenv("FLYTECTL_CONFIG", str(server.config_path))
    monkeypatch.delenv("UCTL_CONFIG", raising=False)
    try:
        yield server
    finally:
        server.stop()
        reset_flyte_init()
