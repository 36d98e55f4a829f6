"""`flyte_runs.jsonl`: a crash-safe record of every job of a sweep, and the reading side for reruns.

The file is append-only: each line is a complete JSON record of one job at one moment (planned,
submitted, finished, aborted); the last line for a job number wins. Appending whole lines and
flushing each one means a crash can at worst cut the line being written, which readers skip and
the next writer cuts off, so nothing already recorded is ever lost. Lines reach the disk itself
(`fsync`, about 5 ms each) at most every quarter second, from a thread of their own, and when
the sweep ends: syncing each of a 10,000-job sweep's 20,000 lines took longer than submitting
its runs. A machine crash can so
lose the last quarter second's lines; the runs they named are found again by their labels. Any
other line that is not a record is an error that names the file and line.
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._errors import ConfigurationError
from ._outcome import JobOutcome

if TYPE_CHECKING:
    from ._options import LaunchOptions

JOURNAL_NAME = "flyte_runs.jsonl"
_SYNC_SECONDS = 0.25
SUCCEEDED = "SUCCEEDED"


def is_hydra_override(override: str) -> bool:
    """True for `hydra.*` values and `hydra/*` group selections (with any `+`, `++`, `~` prefix)."""
    key = override.lstrip("+~").split("=", 1)[0]
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def app_overrides(overrides: Sequence[str]) -> list[str]:
    """The overrides of the app's own config, as a sweep's record keeps them."""
    return [o for o in overrides if not is_hydra_override(o)]


def _jsonable(value: Any) -> Any:
    value = getattr(value, "value", value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def _close_all(files: list[TextIO]) -> None:
    """What a dropped journal still has open (`weakref.finalize`, so no file is left to the garbage collector)."""
    for f in files:
        f.close()


def _sync_file(path: Path) -> None:
    """Put the file's lines on the disk, on a thread of its own: the writer (holding the tracker's lock) goes on.

    A sync takes about 5 ms, and tens of ms on a busy disk; made by the thread that appended, it
    held up every submission of the sweep meanwhile. The thread holds the path, not the journal, so
    a journal dropped while it runs still closes its file.
    """
    with open(path, "a", encoding="utf-8") as f:
        os.fsync(f.fileno())


def _drop_torn_tail(path: Path) -> None:
    """Cut an unfinished last line (an append a crash interrupted) so new records start on a line of their own."""
    if not path.is_file():
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


class Journal:
    """Appends job records to `<sweep dir>/flyte_runs.jsonl` from any thread.

    The file stays open between appends (opening and closing it was a third of a line's cost, twice
    per job) until `sync` or `close`, or until the journal is dropped; every line is still flushed
    to the operating system as it is appended.
    """

    def __init__(self, sweep_dir: str | os.PathLike[str]) -> None:
        self.path = Path(sweep_dir) / JOURNAL_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._synced = 0.0
        self._unsynced = False
        self._syncer: threading.Thread | None = None
        self._file: TextIO | None = None
        self._opened: list[TextIO] = []
        weakref.finalize(self, _close_all, self._opened)
        _drop_torn_tail(self.path)

    def _open(self) -> TextIO:
        """The file, open for appending (call with the lock held)."""
        if self._file is None or self._file.closed:
            self._file = open(self.path, "a", encoding="utf-8")
            self._opened.append(self._file)
        return self._file

    def close(self) -> None:
        """Close the file (a later append opens it again)."""
        with self._lock:
            _close_all(self._opened)
            self._opened.clear()
            self._file = None

    def _append(self, records: Sequence[dict[str, Any]], *, sync: bool = False) -> None:
        text = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
        with self._lock:
            f = self._open()
            f.write(text)
            f.flush()
            now = time.monotonic()
            if sync:
                os.fsync(f.fileno())
                self._synced, self._unsynced = now, False
                return
            self._unsynced = True
            if now - self._synced >= _SYNC_SECONDS and (self._syncer is None or not self._syncer.is_alive()):
                self._synced = now
                self._syncer = threading.Thread(
                    target=_sync_file, args=(self.path,), name="flyte-hydra-journal-sync", daemon=True
                )
                self._syncer.start()

    def sync(self) -> None:
        """Put every line written so far on the disk (the executor calls this when a sweep ends)."""
        syncer = self._syncer
        if syncer is not None:
            syncer.join()
        with self._lock:
            if self._unsynced:
                os.fsync(self._open().fileno())
                self._synced, self._unsynced = time.monotonic(), False
        self.close()

    def sweep(self, **details: Any) -> None:
        """The sweep's own record: how to compose it again for a rerun."""
        self._append([{"sweep": {**details, "time": time.time()}}], sync=True)

    def job(self, outcome: JobOutcome) -> None:
        self._append([self._record(outcome)])

    def jobs(self, outcomes: Sequence[JobOutcome]) -> None:
        """Many jobs' records in one append (a sweep's planned jobs), synced at once."""
        self._append([self._record(o) for o in outcomes], sync=True)

    @staticmethod
    def _record(outcome: JobOutcome) -> dict[str, Any]:
        return {
            "num": outcome.num,
            "overrides": list(outcome.overrides),
            "phase": outcome.phase,
            "url": outcome.url,
            "run_name": outcome.run_name or (getattr(outcome.handle, "name", None) if outcome.url else None),
            "result": _jsonable(outcome.result) if outcome.ok and outcome.phase == SUCCEEDED else None,
            "error": f"{type(outcome.error).__name__}: {outcome.error}" if outcome.error is not None else None,
            "started": outcome.started,
            "finished": outcome.finished,
            "time": time.time(),
        }


@dataclass(frozen=True)
class JournalState:
    """What a journal says now: the sweep record and each job's latest record."""

    path: Path
    sweep: dict[str, Any]
    jobs: dict[int, dict[str, Any]]

    def unfinished(self) -> list[dict[str, Any]]:
        """Jobs to run again: failed, aborted, or never finished (e.g. the process was killed).

        A record marked `live` (by `_sweep.refresh`: its run is still going on the cluster) is left alone.
        """
        return [self.jobs[n] for n in sorted(self.jobs) if _rerun(self.jobs[n])]

    def mode_for(self, options: LaunchOptions) -> LaunchOptions:
        """A rerun runs where the sweep ran, unless the user asked for a mode other than the default."""
        from ._options import DEFAULTS

        recorded = self.sweep.get("mode")
        if recorded in ("local", "remote") and options.mode == DEFAULTS.mode and recorded != options.mode:
            return options.replace(mode=recorded)
        return options

    def replayed_overrides(self, given: Sequence[str], *, knob: str, exact: bool = False) -> list[str]:
        """The sweep overrides a rerun composes: the recorded ones; overrides given again must match them.

        With `exact` (the launcher, whose sweeper expands what the command line says) none given is a difference too.
        """
        recorded = self.sweep.get("overrides")
        if recorded is None:
            return list(given)
        hydra_settings = [o for o in given if is_hydra_override(o)]
        given = [o for o in given if not is_hydra_override(o)]
        if (given or exact) and list(given) != list(recorded):
            missing = [o for o in recorded if o not in given]
            extra = [o for o in given if o not in recorded]
            difference = (
                "; ".join(
                    part
                    for part in (
                        f"recorded but not given: {' '.join(missing)}" if missing else "",
                        f"given but not recorded: {' '.join(extra)}" if extra else "",
                    )
                    if part
                )
                or f"same overrides in another order: {' '.join(recorded)}"
            )
            raise ConfigurationError(
                f"{knob}={self.path.parent}: the overrides differ from the recorded sweep ({difference}). "
                "A rerun repeats that sweep's failed jobs: give its overrides again, or none."
            )
        return [*recorded, *hydra_settings]


def _rerun(record: dict[str, Any]) -> bool:
    return record["phase"] != SUCCEEDED and not record.get("live")


class _NotARecord(ValueError):
    """One line of a journal that cannot be read as a record; the reader adds where it is."""


_OPTIONAL_TEXT = ("url", "run_name", "error")
_OPTIONAL_TIMES = ("started", "finished", "time")


def _checked_job(record: dict[str, Any]) -> dict[str, Any]:
    num = record["num"]
    if isinstance(num, bool) or not isinstance(num, int) or num < 0:
        raise _NotARecord(f"'num' must be a job number (0, 1, ...), got {num!r}")
    overrides = record.get("overrides")
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise _NotARecord(f"'overrides' must be a list of strings, got {overrides!r}")
    if not isinstance(record.get("phase"), str):
        raise _NotARecord(f"'phase' must be a string such as 'SUCCEEDED', got {record.get('phase')!r}")
    for key in _OPTIONAL_TEXT:
        if record.get(key) is not None and not isinstance(record[key], str):
            raise _NotARecord(f"'{key}' must be a string or null, got {record[key]!r}")
    for key in _OPTIONAL_TIMES:
        value = record.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise _NotARecord(f"'{key}' must be a time in seconds or null, got {value!r}")
    return record


def _parse_record(raw: bytes) -> dict[str, Any]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise _NotARecord(f"it is not UTF-8 text (byte {e.start + 1} is {raw[e.start : e.start + 1]!r})") from e
    except json.JSONDecodeError as e:
        raise _NotARecord(f"it is not JSON ({e.msg} at column {e.colno})") from e
    if not isinstance(record, dict):
        raise _NotARecord(f"it is a JSON {type(record).__name__}, not an object")
    if "sweep" in record:
        sweep = record["sweep"]
        if not isinstance(sweep, dict):
            raise _NotARecord(f"'sweep' must be an object, got {sweep!r}")
        overrides = sweep.get("overrides", [])
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise _NotARecord(f"the sweep's 'overrides' must be a list of strings, got {overrides!r}")
        return record
    if "num" not in record:
        raise _NotARecord("it has neither 'num' (a job record) nor 'sweep' (the sweep record)")
    return _checked_job(record)


def read_journal(sweep_dir: str | os.PathLike[str], *, knob: str = "rerun_failed") -> JournalState:
    """Every record of `<sweep_dir>/flyte_runs.jsonl`, refusing a file that is not one.

    Only an unfinished last line (no newline: a crash cut the append) is skipped; anything else that
    is not a record stops the rerun with the line number, before any job runs.
    """
    path = Path(sweep_dir) / JOURNAL_NAME
    if not path.is_file():
        raise ConfigurationError(
            f"{knob}={sweep_dir}: there is no {JOURNAL_NAME} in that folder. Point it at the sweep directory of "
            "an earlier sweep (the folder that holds its flyte_runs.jsonl)."
        )
    sweep: dict[str, Any] = {}
    jobs: dict[int, dict[str, Any]] = {}
    lines = path.read_bytes().split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = _parse_record(raw)
        except _NotARecord as e:
            if number == len(lines):
                continue  # the last append, cut short by a crash
            raise ConfigurationError(
                f"{path} line {number} is not a journal record: {e}. {knob} cannot trust this file: "
                "restore it, delete that line, or point the rerun at another sweep directory."
            ) from e
        if "sweep" in record:
            sweep, jobs = record["sweep"], {}  # a later sweep in the same directory is the one that counts
        else:
            jobs[record["num"]] = record
    if not sweep and not jobs:
        raise ConfigurationError(
            f"{knob}={sweep_dir}: {path} records no sweep, so there is nothing to rerun. Point it at the sweep "
            "directory of a sweep that ran."
        )
    return JournalState(path=path, sweep=sweep, jobs=jobs)


def planned_again(state: JournalState, job_overrides: Sequence[Sequence[str]], first_num: int) -> list[bool]:
    """For each job of a launch, whether a rerun must run it (it is not recorded as succeeded)."""
    run = []
    for offset, overrides in enumerate(job_overrides):
        record = state.jobs.get(first_num + offset)
        run.append(record is None or _rerun(record) or record["overrides"] != list(overrides))
    return run
