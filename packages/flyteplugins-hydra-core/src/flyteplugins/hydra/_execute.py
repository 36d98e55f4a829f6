"""Run planned jobs: locally in-process, or on a Flyte cluster, capped, awaited, journaled and abortable.

Surfaces hand over a list of `PlannedJob`s. `prepare` (composition) always runs on the calling
thread, one job after another, because Hydra's composition and its `HydraConfig` singleton are
not thread-safe; `start` runs or submits the job and may run on worker threads. Nothing here
knows which surface it serves.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import RemoteRunError
from ._flyte_compat import release_local_runners
from ._journal import Journal
from ._mode import forced_local
from ._outcome import JobOutcome, RunResult
from ._report import Progress, dry_run, not_waiting, summary, waiting
from ._settings import LaunchSettings

ABORTED = "ABORTED"
CANCELLED = "CANCELLED"  # never started: the sweep was stopped first (fail_fast or Ctrl-C)
_SUBMIT_WORKERS = 32


@dataclass(frozen=True)
class PlannedJob:
    """A job ready to go: its Hydra job number, overrides, and how to prepare, start and describe it."""

    num: int
    overrides: Sequence[str]
    prepare: Callable[[], Any]
    start: Callable[[Any], Any]
    describe: Callable[[Any], dict[str, Any]] | None = None


def _is_flyte_run(value: Any) -> bool:
    from flyte.remote import Run

    return isinstance(value, Run)


def _is_inline_run(run: Any) -> bool:
    # Local executions come back wrapped in the SDK's private `_InlineRun`; it has already finished.
    return type(run).__qualname__.endswith("_InlineRun")


def _output_value(outputs: Sequence[Any]) -> Any:
    if len(outputs) == 0:
        return None
    if len(outputs) == 1:
        return outputs[0]
    return outputs if isinstance(outputs, tuple) else tuple(outputs)  # flyte's ActionOutputs, as 2.x returned


def finished_result(value: Any) -> Any:
    """What a job that has finished in-process yields: a `RunResult` for Flyte runs, else the value itself."""
    if _is_flyte_run(value):
        return RunResult(_output_value(value.outputs()), url=value.url, run=value)
    return value


def _remote_error_detail(run: Any) -> str | None:
    """The run's own error text, as the SDK reports it for a failed run."""
    try:
        run.raise_for_status()
    except Exception as e:
        return str(e) or type(e).__name__
    return None


def _await_remote(run: Any) -> RunResult:
    run.wait(quiet=True)
    phase = run.phase
    phase_name = getattr(phase, "name", str(phase)).upper()
    if phase_name != "SUCCEEDED":
        raise RemoteRunError(phase_name, run.url, _remote_error_detail(run))
    return RunResult(_output_value(run.outputs()), url=run.url, run=run)


class _DaemonWorkers:
    """A few worker threads that never keep the process alive.

    After Ctrl-C the executor aborts runs and returns without joining them, so an interrupted
    sweep exits promptly instead of hanging in a thread pool's shutdown.
    """

    _STOP = object()

    def __init__(self, count: int, work: Callable[[Any], Any], name: str) -> None:
        self._inbox: queue.Queue[Any] = queue.Queue()
        self.outbox: queue.Queue[tuple[Any, Any, BaseException | None]] = queue.Queue()
        self._work = work
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(max(1, count))
        ]
        for thread in self._threads:
            thread.start()

    def _loop(self) -> None:
        while (item := self._inbox.get()) is not self._STOP:
            try:
                self.outbox.put((item, self._work(item), None))
            except BaseException as e:
                self.outbox.put((item, None, e))

    def put(self, item: Any) -> None:
        self._inbox.put(item)

    def get(self) -> tuple[Any, Any, BaseException | None]:
        """Next finished item; polls so that Ctrl-C reaches the main thread while it waits."""
        while True:
            with contextlib.suppress(queue.Empty):
                return self.outbox.get(timeout=0.2)

    def close(self) -> None:
        for _ in self._threads:
            self._inbox.put(self._STOP)


@contextlib.contextmanager
def _second_interrupt_exits() -> Iterator[None]:
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


class Execution:
    """One launch: every job of `jobs` under `settings`, reported, journaled, and stoppable."""

    def __init__(
        self,
        jobs: Sequence[PlannedJob],
        settings: LaunchSettings,
        *,
        journal: Journal | None = None,
        concurrent_submit: bool = False,
        after_submit: Callable[[Sequence[JobOutcome]], None] | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self.settings = settings
        self.journal = journal
        self.concurrent_submit = concurrent_submit
        self.after_submit = after_submit
        self.outcomes = [JobOutcome(job.num, list(job.overrides)) for job in self.jobs]
        self._stop = threading.Event()
        self.progress: Progress | None = None

    # -- bookkeeping -------------------------------------------------------------------------

    def _record(self, outcome: JobOutcome) -> None:
        if self.journal is not None:
            self.journal.job(outcome)

    def _finish(self, outcome: JobOutcome, *, result: Any = None, error: BaseException | None = None) -> None:
        outcome.finished = time.time()
        if error is None:
            outcome.phase, outcome.result = "SUCCEEDED", result
            outcome.url = outcome.url or getattr(result, "url", None)
        else:
            outcome.phase = error.phase if isinstance(error, RemoteRunError) else "FAILED"
            outcome.error = error
            if self.settings.fail_fast:
                self._stop.set()
        self._record(outcome)
        assert self.progress is not None
        self.progress.finished(outcome)

    def _cancel(self, outcome: JobOutcome) -> None:
        outcome.phase = CANCELLED
        outcome.error = RuntimeError("not started: the sweep was stopped before this job")
        self._record(outcome)

    def _begin(self, outcome: JobOutcome, phase: str) -> None:
        outcome.phase, outcome.started = phase, time.time()
        assert self.progress is not None
        self.progress.track(outcome)

    def _prepare(self, job: PlannedJob, outcome: JobOutcome) -> tuple[bool, Any]:
        try:
            return True, job.prepare()
        except Exception as e:
            outcome.started = time.time()
            self._finish(outcome, error=e)
            return False, None

    # -- local -------------------------------------------------------------------------------

    @staticmethod
    def _start_local(job: PlannedJob, prepared: Any) -> Any:
        with forced_local():
            return finished_result(job.start(prepared))

    def _run_local(self) -> None:
        limit = self.settings.parallel or 1
        if limit == 1:
            for job, outcome in zip(self.jobs, self.outcomes):
                if self._stop.is_set():
                    self._cancel(outcome)
                    continue
                ok, prepared = self._prepare(job, outcome)
                if not ok:
                    continue
                self._begin(outcome, "RUNNING")
                try:
                    result = self._start_local(job, prepared)
                except Exception as e:
                    self._finish(outcome, error=e)
                else:
                    self._finish(outcome, result=result)
                finally:
                    release_local_runners()
            return
        workers = _DaemonWorkers(limit, lambda item: self._start_local(item[0], item[2]), "flyte-hydra-local")
        try:
            self._rolling(workers, limit, start_in_worker=True)
        finally:
            workers.close()

    # -- remote ------------------------------------------------------------------------------

    def _submit(self, job: PlannedJob, outcome: JobOutcome, prepared: Any) -> bool:
        """Submit one prepared job; True when a remote run is now in flight."""
        outcome.started = time.time()
        try:
            handle, error = job.start(prepared), None
        except Exception as e:
            handle, error = None, e
        return self._accept_submission(outcome, handle, error)

    def _submit_all(self) -> list[JobOutcome]:
        """Submit every job before any waiting; submissions overlap when the surface allows it."""
        prepared = []
        for job, outcome in zip(self.jobs, self.outcomes):
            ok, value = self._prepare(job, outcome)
            if ok:
                prepared.append((job, outcome, value))
        in_flight = []
        if not self.concurrent_submit:
            for job, outcome, value in prepared:
                if self._submit(job, outcome, value):
                    in_flight.append(outcome)
            return in_flight
        # The first submission builds and uploads the code bundle and resolves images; flyte caches
        # both, so once it is done the rest of the sweep reuses them and can be submitted in parallel.
        if prepared:
            job, outcome, value = prepared.pop(0)
            if self._submit(job, outcome, value):
                in_flight.append(outcome)
        workers = _DaemonWorkers(
            min(_SUBMIT_WORKERS, max(1, len(prepared))), lambda item: item[0].start(item[2]), "flyte-hydra-submit"
        )
        try:
            for item in prepared:
                item[1].started = time.time()
                workers.put(item)
            for _ in prepared:
                (job, outcome, value), handle, error = workers.get()
                if self._accept_submission(outcome, handle, error):
                    in_flight.append(outcome)
        finally:
            workers.close()
        order = {o.num: i for i, o in enumerate(self.outcomes)}
        return sorted(in_flight, key=lambda o: order[o.num])

    def _accept_submission(self, outcome: JobOutcome, handle: Any, error: BaseException | None) -> bool:
        if error is not None:
            if not isinstance(error, Exception):
                raise error
            self._finish(outcome, error=error)
            return False
        outcome.handle = handle
        if not _is_flyte_run(handle) or _is_inline_run(handle):
            self._finish(outcome, result=finished_result(handle))
            return False
        outcome.url, outcome.phase = handle.url, "SUBMITTED"
        self._record(outcome)
        assert self.progress is not None
        self.progress.submitted(outcome)
        return True

    def _rolling(self, workers: _DaemonWorkers, limit: int, *, start_in_worker: bool) -> None:
        """Keep at most `limit` jobs in flight; as one finishes the next one starts."""
        in_flight = 0
        for job, outcome in zip(self.jobs, self.outcomes):
            while in_flight >= limit:
                self._collect(workers)
                in_flight -= 1
            if self._stop.is_set():
                self._cancel(outcome)
                continue
            ok, prepared = self._prepare(job, outcome)
            if not ok:
                continue
            if start_in_worker:
                self._begin(outcome, "RUNNING")
            elif not self._submit(job, outcome, prepared):
                continue
            workers.put((job, outcome, prepared))
            in_flight += 1
        for _ in range(in_flight):
            self._collect(workers)

    @staticmethod
    def _remote_waiters(count: int) -> _DaemonWorkers:
        """Threads that wait on `(job, outcome, prepared)` items until each remote run is terminal."""
        return _DaemonWorkers(count, lambda item: _await_remote(item[1].handle), "flyte-hydra-wait")

    def _collect(self, workers: _DaemonWorkers) -> None:
        (_, outcome, _), result, error = workers.get()
        if error is not None and not isinstance(error, Exception):
            raise error
        self._finish(outcome, result=result, error=error)

    def _run_remote(self) -> None:
        limit = self.settings.parallel
        wait_threads = self.settings.wait_max_workers
        if limit is not None:
            threads = min(limit, wait_threads or limit)
            waiting(len(self.jobs), threads)
            workers = self._remote_waiters(threads)
            try:
                self._rolling(workers, limit, start_in_worker=False)
            finally:
                workers.close()
            return
        in_flight = self._submit_all()
        if self.after_submit is not None and in_flight:
            self.after_submit(in_flight)
        if not self.settings.wait:
            for outcome in in_flight:
                outcome.result = outcome.handle
            not_waiting(len(in_flight))
            return
        if not in_flight:
            return
        threads = min(len(in_flight), wait_threads or len(in_flight))
        waiting(len(in_flight), threads)
        workers = self._remote_waiters(threads)
        try:
            for outcome in in_flight:
                workers.put((None, outcome, None))
            for _ in in_flight:
                self._collect(workers)
        finally:
            workers.close()

    # -- interrupt ---------------------------------------------------------------------------

    def _abort(self) -> None:
        """First Ctrl-C: stop submitting, abort what is running, record it, say what was aborted."""
        self._stop.set()
        with _second_interrupt_exits():
            active = [o for o in self.outcomes if o.phase in ("SUBMITTED", "RUNNING")]
            remote = [o for o in active if _is_flyte_run(o.handle) and not _is_inline_run(o.handle)]
            threads = [
                threading.Thread(target=_quiet_abort, args=(o.handle,), daemon=True, name="flyte-hydra-abort")
                for o in remote
            ]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            for outcome in active:
                outcome.phase, outcome.finished = ABORTED, time.time()
                outcome.error = KeyboardInterrupt("aborted by Ctrl-C")
                self._record(outcome)
            for outcome in self.outcomes:
                if outcome.phase == "PENDING":
                    self._cancel(outcome)
            assert self.progress is not None
            self.progress.aborted(active)

    # -- entry -------------------------------------------------------------------------------

    def _dry_run(self) -> list[JobOutcome]:
        plans = []
        for job, outcome in zip(self.jobs, self.outcomes):
            try:
                prepared = job.prepare()
                details = job.describe(prepared) if job.describe else {}
                outcome.phase = "PLANNED"
            except Exception as e:
                outcome.phase, outcome.error = "FAILED", e
                details = {"error": f"{type(e).__name__}: {e}"}
            plans.append((outcome, details))
        dry_run(plans, self.settings.mode)
        return self.outcomes

    def run(self) -> list[JobOutcome]:
        """Run or submit every job; one outcome per job, in job order, failures included."""
        if self.settings.dry_run:
            return self._dry_run()
        for outcome in self.outcomes:
            self._record(outcome)
        self.progress = Progress(len(self.jobs), numbered=len(self.jobs) > 1)
        try:
            if self.settings.mode == "local":
                self._run_local()
            else:
                self._run_remote()
        except KeyboardInterrupt:
            self._abort()
            raise
        finally:
            self.progress.close()
        summary(self.outcomes)
        return self.outcomes


def _quiet_abort(run: Any) -> None:
    with contextlib.suppress(Exception):
        run.abort()


def execute(
    jobs: Sequence[PlannedJob],
    settings: LaunchSettings,
    *,
    journal: Journal | None = None,
    concurrent_submit: bool = False,
    after_submit: Callable[[Sequence[JobOutcome]], None] | None = None,
) -> list[JobOutcome]:
    """Run or submit every job under `settings`; see `Execution`.

    `after_submit` sees the runs in flight once all are submitted and before any waiting (the CLI's
    `--follow` streams their logs there); it is not called locally or when `max_parallel` rolls jobs.
    """
    execution = Execution(
        jobs, settings, journal=journal, concurrent_submit=concurrent_submit, after_submit=after_submit
    )
    return execution.run()
