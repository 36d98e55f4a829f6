"""Workarounds for behaviours of the flyte SDK (2.12.x) that hurt long sweeps; each says why."""

from __future__ import annotations

import atexit
import contextlib


def release_local_runners() -> None:
    """Stop the event-loop threads flyte left behind for the local run that just finished.

    flyte 2.12 creates a new `LocalController` for every local run, and for a synchronous task it
    starts a thread running a fresh event loop that is only stopped at interpreter exit. Over a
    1000-job local sweep that is 1000 idle threads and loops. Call this only when no other local
    run is in flight: it closes the runners of the most recently created controller.
    """
    with contextlib.suppress(ImportError, AttributeError):
        from flyte._internal.controllers import _ControllerState

        runners = getattr(_ControllerState.controller, "_runner_map", None)
        if not runners:
            return
        for runner in list(runners.values()):
            atexit.unregister(runner._close)
            loop = getattr(runner, "_TaskRunner__loop", None)
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(loop.stop)  # the runner's own _close is not thread-safe
        runners.clear()
