"""Daemon worker threads for the executor, and the item each one works on."""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._execute import PlannedJob
    from ._outcome import JobOutcome


@dataclass
class WorkItem:
    """One job handed to a worker: what to run, where its fate is recorded, and its composed input."""

    job: PlannedJob
    outcome: JobOutcome
    prepared: Any = None


@dataclass
class Done:
    """What a worker hands back: the item, and the value it produced or the exception it raised."""

    item: Any  # a WorkItem; other users of the workers hand their own items
    value: Any = None
    error: BaseException | None = None


class DaemonWorkers:
    """A few worker threads that never keep the process alive.

    After Ctrl-C the executor aborts runs and returns without joining them, so an interrupted
    sweep exits promptly instead of hanging in a thread pool's shutdown.
    """

    _STOP = object()

    def __init__(self, count: int, work: Callable[[Any], Any], name: str) -> None:
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._outbox: queue.Queue[Done] = queue.Queue()
        self._work = work
        # Each thread runs in a copy of its creator's context: a context-scoped flyte init config (local
        # mode's client-less one, the app driver's in-cluster one) holds in the workers too.
        self._threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(self._loop,), name=f"{name}-{i}", daemon=True)
            for i in range(max(1, count))
        ]
        for thread in self._threads:
            thread.start()

    def _loop(self) -> None:
        while (item := self._inbox.get()) is not self._STOP:
            try:
                self._outbox.put(Done(item, self._work(item)))
            except BaseException as e:
                self._outbox.put(Done(item, error=e))

    def put(self, item: Any) -> None:
        self._inbox.put(item)

    def get(self) -> Done:
        """The next finished item; polls so that Ctrl-C reaches the main thread while it waits."""
        while True:
            with contextlib.suppress(queue.Empty):
                return self._outbox.get(timeout=0.2)

    def poll(self) -> Done | None:
        """A finished item if one is ready, without waiting."""
        try:
            return self._outbox.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        for _ in self._threads:
            self._inbox.put(self._STOP)

    def __enter__(self) -> DaemonWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# How long a thread may keep the GIL while another waits for it, while jobs are composed and submitted at once.
SUBMITTING_SWITCH_SECONDS = 0.0005


@contextlib.contextmanager
def short_gil_turns(seconds: float = SUBMITTING_SWITCH_SECONDS) -> Iterator[None]:
    """While this block runs, a thread waiting for the GIL gets it after `seconds` instead of Python's 5 ms.

    Overlapped submission is one busy thread (composing the next jobs) and many that each need
    the GIL for a moment at a time: a worker woken with a job, flyte's event loop answering a
    response, a worker handed its run. With the default switch interval each of those waits up to
    5 ms for the composing thread to let go, several times per job, so submissions trailed far
    behind composition (24 ms of wall time per job for 15 ms of CPU at 10,000 jobs). Shorter turns
    cost the busy thread a few more switches and let every wake-up run at once. The interval is
    process-wide: it is restored when the block ends (unless something else changed it meanwhile).
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, seconds))
    ours = sys.getswitchinterval()  # as Python stores it (microseconds), to tell whether it was changed since
    try:
        yield
    finally:
        if sys.getswitchinterval() == ours:
            sys.setswitchinterval(previous)


@contextlib.contextmanager
def second_interrupt_exits() -> Iterator[None]:
    """While aborting, a second Ctrl-C leaves at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit_now(signum: int, frame: Any) -> None:
        os._exit(130)

    previous = signal.signal(signal.SIGINT, _exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
