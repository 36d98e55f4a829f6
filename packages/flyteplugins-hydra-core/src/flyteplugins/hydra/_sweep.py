"""Come back to a sweep: find its runs, refresh them from the cluster, wait, collect, abort.

A sweep is found by its directory (its `flyte_runs.jsonl`) or by its sweep id alone (its runs
carry the `hydra-sweep` label, so nothing local is needed). The journal is the memory of the
process that launched the sweep; the cluster is the truth for remote runs, and what is learned
from it is written back to the journal. Local sweeps ran inside their launching process: they
can be read, never re-attached.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, RemoteRunError
from ._identity import JOB_LABEL, OVERRIDES_ANNOTATION, SWEEP_ID, SWEEP_LABEL
from ._journal import JOURNAL_NAME, SUCCEEDED, Journal, JournalState, read_journal
from ._outcome import JobOutcome, RunResult
from ._phase import Phase
from ._results import run_named

if TYPE_CHECKING:
    from flyte.remote import Run

ABORTED = Phase.ABORTED
# No run of the job is on the cluster: its submission never reached it. Derived, never journaled.
NOT_SUBMITTED = Phase.NOT_SUBMITTED
TERMINAL = frozenset(p for p in Phase if p.terminal)
_LOOKUP_THREADS = 16
_LIST_LIMIT = 1_000_000


def phase_name(phase: Any) -> Phase:
    return Phase.of(getattr(phase, "name", str(phase)))


def _seconds(timestamp: Any) -> float:
    return timestamp.ToNanoseconds() / 1e9


def _recorded(record: dict[str, Any]) -> JobOutcome:
    """A job as the journal last saw it."""
    outcome = JobOutcome(
        int(record["num"]),
        list(record.get("overrides") or []),
        phase=str(record.get("phase") or "PENDING"),
        url=record.get("url"),
        started=record.get("started"),
        finished=record.get("finished"),
        run_name=record.get("run_name"),
    )
    if outcome.phase == SUCCEEDED and not record.get("error"):
        outcome.result = RunResult(record.get("result"), url=outcome.url)
    elif record.get("error"):
        outcome.error = RuntimeError(record["error"])
    return outcome


def _from_run(outcome: JobOutcome, run: Run) -> None:
    """Take the run's phase, times, output or error (fetching the latter two once it is terminal)."""
    from ._errors import ResultUnavailableError
    from ._results import read_result, remote_error_detail

    phase, result, error = phase_name(run.phase), None, None
    if phase == SUCCEEDED:
        try:
            result = read_result(run)
        except ResultUnavailableError as unread:
            error = unread  # still SUCCEEDED: read again next time
    elif phase in TERMINAL:
        error = RemoteRunError(phase, run.url, remote_error_detail(run))
    # Everything is fetched before anything is set: other threads may journal this outcome at any time.
    status = run.pb2.action.status
    if status.HasField("start_time"):
        outcome.started = _seconds(status.start_time)
    if status.HasField("end_time"):
        outcome.finished = _seconds(status.end_time)
    outcome.handle, outcome.run_name, outcome.url = run, run.name, run.url
    outcome.result, outcome.error, outcome.phase = result, error, phase


def _parallel(work: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    if len(items) < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(min(_LOOKUP_THREADS, len(items)), thread_name_prefix="flyte-hydra-lookup") as pool:
        return list(pool.map(work, items))


def _process_alive(header: dict[str, Any]) -> bool:
    if header.get("host") != socket.gethostname() or not isinstance(header.get("pid"), int):
        return False
    try:
        os.kill(header["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mode(state: JournalState) -> str:
    """The header says; journals written before it did are remote when their runs have web URLs."""
    mode = state.sweep.get("mode")
    if mode:
        return str(mode)
    urls = [str(r.get("url") or "") for r in state.jobs.values()]
    return "remote" if any(u.startswith(("http://", "https://")) for u in urls) else "local"


def _stale(outcome: JobOutcome) -> bool:
    """Not known to be over, never seen on the cluster, or succeeded with outputs not read yet."""
    if outcome.phase == SUCCEEDED:
        return outcome.error is not None
    return outcome.phase not in TERMINAL or (outcome.url is None and outcome.phase != "CANCELLED")


class Sweep:
    """A sweep found again, by directory or by sweep id: refresh it, wait for it, collect or abort it.

    >>> sweep = Sweep.open("multirun/2024-05-01/12-00-00")   # or Sweep.open("1a2b3c4d")
    >>> [o.phase for o in sweep.status()]
    >>> values = [r.value for r in sweep.wait() and sweep.results()]
    """

    def __init__(self, header: dict[str, Any], outcomes: Iterable[JobOutcome], directory: Path | None) -> None:
        self.header = dict(header)
        self.directory = directory
        self.outcomes = sorted(outcomes, key=lambda o: o.num)
        self._journal = Journal(directory) if directory is not None else None
        self._seen = {o.num: self._fingerprint(o) for o in self.outcomes}

    # -- finding -----------------------------------------------------------------------------

    @classmethod
    def open(cls, where: str | os.PathLike[str]) -> Sweep:
        """The sweep in directory `where` (the one holding its flyte_runs.jsonl), or with sweep id `where`."""
        path = Path(where)
        if path.name == JOURNAL_NAME and path.is_file():
            path = path.parent
        if (path / JOURNAL_NAME).is_file():
            state = read_journal(path)
            header = {**state.sweep, "mode": _mode(state)}
            return cls(header, [_recorded(r) for r in state.jobs.values()], path)
        text = os.fspath(where)
        if SWEEP_ID.fullmatch(text):
            return cls._from_cluster(text)
        raise ConfigurationError(
            f"'{text}' is neither a sweep directory (there is no {JOURNAL_NAME} in it) nor a sweep id (the hex "
            "id printed as 'Sweep <id>' when the sweep started). Pass the sweep's hydra.sweep.dir or its id."
        )

    @classmethod
    def _from_cluster(cls, sweep_id: str) -> Sweep:
        from ._mode import ensure_remote_ready

        ensure_remote_ready()
        runs = _labelled_runs(sweep_id, None, None)
        if not runs:
            from ._driver_sweep import find_driver_run, header_for

            driver = find_driver_run(sweep_id, None, None)
            if driver is not None:
                sweep = cls(header_for(driver, sweep_id), [], None)
                sweep._refresh()
                return sweep
            raise ConfigurationError(
                f"No run on the cluster carries the label {SWEEP_LABEL}={sweep_id}. Check the id (it is printed "
                "as 'Sweep <id>' when the sweep starts and recorded in its flyte_runs.jsonl), and that the Flyte "
                "config points at the sweep's project and domain; or pass the sweep directory instead."
            )

        def job(item: tuple[int, list[Run]]) -> JobOutcome:
            num, candidates = item
            run = _newest(candidates)
            annotations = run.details().pb2.run_spec.annotations.values
            outcome = JobOutcome(num, json.loads(annotations.get(OVERRIDES_ANNOTATION, "[]")))
            _from_run(outcome, run)
            return outcome

        return cls({"sweep_id": sweep_id, "mode": "remote"}, _parallel(job, sorted(runs.items())), None)

    # -- facts -------------------------------------------------------------------------------

    @property
    def id(self) -> str | None:
        return self.header.get("sweep_id")

    @property
    def driven(self) -> bool:
        """A `driver=cluster` sweep: one driver run on the cluster, whose child actions are the jobs."""
        from ._driver_sweep import is_driven

        return is_driven(self.header)

    @property
    def mode(self) -> str:
        return str(self.header.get("mode") or "remote")

    @property
    def done(self) -> bool:
        return all(o.phase in TERMINAL for o in self.outcomes)

    def note(self) -> str | None:
        """What a reader must know about a local sweep: what they see is only what was recorded."""
        if self.mode != "local":
            return None
        where = f"process {self.header.get('pid')} on {self.header.get('host')}"
        if self.done:
            return f"Local sweep: its jobs ran in {where}; this is what its journal recorded."
        if _process_alive(self.header):
            return f"Local sweep still running in {where}: this is what its journal has recorded so far."
        return (
            f"Local sweep: its jobs ran in {where}, which is gone; the jobs not recorded as finished never will "
            "be (rerun them with rerun_failed / --rerun-failed)."
        )

    # -- refreshing --------------------------------------------------------------------------

    @staticmethod
    def _fingerprint(outcome: JobOutcome) -> tuple[Any, ...]:
        return outcome.phase, outcome.url, outcome.run_name, outcome.error is None

    def _write_back(self, outcomes: Iterable[JobOutcome] | None = None) -> None:
        for outcome in self.outcomes if outcomes is None else outcomes:
            fingerprint = self._fingerprint(outcome)
            if self._seen.get(outcome.num) != fingerprint and outcome.phase != NOT_SUBMITTED:
                if self._journal is not None:
                    self._journal.job(outcome)
                self._seen[outcome.num] = fingerprint
        if self._journal is not None:
            self._journal.sync()

    def _refresh(self) -> None:
        """Every job not known to be over gets its run's state from the cluster (remote sweeps only)."""
        if self.mode != "remote":
            return
        if self.driven:
            from . import _driver_sweep

            _driver_sweep.refresh(self)
            self._write_back()
            return
        stale = [o for o in self.outcomes if _stale(o)]
        if not stale:
            return
        from ._mode import ensure_remote_ready

        ensure_remote_ready()
        labelled = _labelled_runs(self.id, self.header.get("project"), self.header.get("domain")) if self.id else {}

        def update(outcome: JobOutcome) -> None:
            candidates = labelled.get(outcome.num, [])
            run = next((r for r in candidates if r.name == outcome.run_name), None) or _newest(candidates)
            if run is None and outcome.run_name:
                run = run_named(outcome.run_name)
            if run is not None:
                _from_run(outcome, run)
            elif outcome.phase not in TERMINAL:
                outcome.phase = NOT_SUBMITTED

        _parallel(update, stale)
        self._write_back()

    def status(self) -> list[JobOutcome]:
        """Each job's outcome, fresh from the cluster for remote sweeps, in job order."""
        self._refresh()
        return self.outcomes

    def _remote_only(self, what: str) -> None:
        if self.mode != "remote":
            raise ConfigurationError(
                f"Cannot {what} sweep {self.id or self.directory}: it is a local sweep, whose runs lived only in "
                "the process that started it. Its journal can be read (status, results), not re-attached."
            )

    # -- waiting, results, abort -------------------------------------------------------------

    def wait(self) -> list[JobOutcome]:
        """Follow every run until it is terminal, reporting as each one finishes; then the summary.

        Interrupting (Ctrl-C) only stops following: the runs keep going on the cluster.
        """
        from ._report import Progress, summary
        from ._workers import DaemonWorkers

        if self.driven:
            from . import _driver_sweep

            outcomes = _driver_sweep.wait(self)
            self._write_back()
            return outcomes
        self._refresh()
        if not self.done:
            self._remote_only("wait for")
        going = [o for o in self.outcomes if o.phase not in TERMINAL and o.handle is not None]

        def follow(outcome: JobOutcome) -> None:
            outcome.handle.wait(quiet=True)
            _from_run(outcome, outcome.handle)

        progress = Progress(len(going), numbered=True)
        workers = DaemonWorkers(min(32, len(going)), follow, "flyte-hydra-follow") if going else None
        try:
            for outcome in going:
                progress.track(outcome)
                assert workers is not None
                workers.put(outcome)
            for _ in going:
                assert workers is not None
                done = workers.get()
                outcome = done.item
                if done.error is not None:
                    outcome.phase, outcome.error = Phase.FAILED, done.error
                self._write_back([outcome])
                progress.finished(outcome)
        finally:
            if workers is not None:
                workers.close()
            progress.close()
        summary(self.outcomes)
        return self.outcomes

    def results(self) -> list[RunResult]:
        """One `RunResult` per job in job order; for jobs that did not succeed `value` is None and `phase` says why."""
        self._refresh()
        return [
            o.result if isinstance(o.result, RunResult) else RunResult(None, url=o.url, run=o.handle, phase=o.phase)
            for o in self.outcomes
        ]

    def abort(self, jobs: Iterable[int] | None = None) -> list[JobOutcome]:
        """Abort the runs not yet terminal (all, or those of job numbers `jobs`); returns the jobs aborted."""
        wanted = None if jobs is None else set(jobs)
        known = {o.num for o in self.outcomes}
        if wanted is not None and wanted - known:
            raise ConfigurationError(
                f"Sweep {self.id or self.directory} has no job {', '.join(map(str, sorted(wanted - known)))}; "
                f"its jobs are {', '.join(map(str, sorted(known)))}."
            )
        if self.driven:
            from . import _driver_sweep

            if wanted is not None:
                raise ConfigurationError(
                    f"Sweep {self.id or self.directory} runs as one driver run on the cluster (driver=cluster): its "
                    "jobs are aborted together, by aborting the driver. Abort the whole sweep (no job numbers)."
                )
            aborted = _driver_sweep.abort(self, "Aborted with flyte hydra abort")
            self._write_back()
            return aborted
        self._refresh()
        chosen = [o for o in self.outcomes if o.phase not in TERMINAL and (wanted is None or o.num in wanted)]
        if chosen:
            self._remote_only("abort")

        def stop(outcome: JobOutcome) -> None:
            with contextlib.suppress(Exception):
                outcome.handle.abort(reason="Aborted with flyte hydra abort")
            outcome.phase, outcome.finished = ABORTED, time.time()
            outcome.error = RuntimeError("aborted with flyte hydra abort")

        _parallel(stop, [o for o in chosen if o.handle is not None])
        self._write_back()
        return chosen

    def report(self, path: str | os.PathLike[str] | None = None, *, objective: int = 0) -> Path:
        """Write the sweep's HTML report (fresh phases from the cluster first); returns where it is.

        By default it goes to `<sweep dir>/report.html`, or `sweep-<id>.html` here for a sweep opened by id.
        """
        from ._html_report import render_report

        self._refresh()
        jobs = [
            {
                "num": o.num,
                "overrides": list(o.overrides),
                "phase": str(o.phase),
                "url": o.url,
                "run_name": o.run_name or getattr(o.handle, "name", None),
                "result": _plain(o.result.value) if isinstance(o.result, RunResult) else None,
                "error": None if o.error is None else f"{type(o.error).__name__}: {o.error}",
                "started": o.started,
                "finished": o.finished,
            }
            for o in self.outcomes
        ]
        if path is not None:
            target = Path(path)
        elif self.directory is not None:
            target = self.directory / "report.html"
        else:
            target = Path(f"sweep-{self.id}.html")
        target.write_text(render_report(self.header, jobs, objective=objective), encoding="utf-8")
        return target

    def records(self) -> list[dict[str, Any]]:
        """Plain per-job rows (JSON-ready): num, overrides, phase, value, url, run_name, duration, error."""
        return [
            {
                "num": o.num,
                "overrides": list(o.overrides),
                "phase": o.phase,
                "value": _plain(o.result.value) if isinstance(o.result, RunResult) else None,
                "url": o.url,
                "run_name": o.run_name or getattr(o.handle, "name", None),
                "duration": o.duration,
                "error": None if o.error is None else str(o.error),
            }
            for o in self.outcomes
        ]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)


def _newest(runs: Sequence[Run]) -> Run | None:
    if not runs:
        return None
    return max(runs, key=lambda r: _seconds(r.pb2.action.status.start_time))


def _labelled_runs(sweep_id: str, project: str | None, domain: str | None) -> dict[int, list[Run]]:
    """Every run labelled as part of the sweep, by job number (a rerun adds runs to a job)."""
    from flyte.remote import Run

    found: dict[int, list[Run]] = {}
    for run in Run.listall(with_labels={SWEEP_LABEL: sweep_id}, project=project, domain=domain, limit=_LIST_LIMIT):
        num = run.pb2.labels.get(JOB_LABEL, "")
        if num.isdigit():
            found.setdefault(int(num), []).append(run)
    return found


def refresh(state: JournalState, sweep_dir: str | os.PathLike[str]) -> JournalState:
    """The journal `state` with each remote job's real phase: what a rerun must know before rerunning.

    Jobs whose runs succeeded after the journal last saw them count as succeeded; jobs still going
    on the cluster are marked `live` (a rerun leaves them alone, and says so); local journals are
    returned as they are.
    """
    from ._report import left_running

    header = {**state.sweep, "mode": _mode(state)}
    if header["mode"] != "remote":
        return state
    sweep = Sweep(header, [_recorded(r) for r in state.jobs.values()], Path(sweep_dir))
    sweep.status()
    live = [o for o in sweep.outcomes if o.phase not in TERMINAL]
    left_running(live)
    live_nums = {o.num for o in live}
    jobs = {}
    for outcome, row in zip(sweep.outcomes, sweep.records()):
        jobs[outcome.num] = {
            **state.jobs[outcome.num],
            "phase": outcome.phase,
            "url": outcome.url,
            "run_name": row["run_name"],
            "result": row["value"],
            "live": outcome.num in live_nums,
        }
    return JournalState(path=state.path, sweep=state.sweep, jobs=jobs)
