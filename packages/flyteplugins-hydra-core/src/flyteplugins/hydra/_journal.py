"""`flyte_runs.jsonl`: a crash-safe record of every job of a sweep, and the reading side for reruns.

The file is append-only: each line is a complete JSON record of one job at one moment (planned,
submitted, finished, aborted); the last line for a job number wins. Appending whole lines and
flushing each one means a crash can at worst cut the line being written, which readers skip, so
nothing already recorded is ever lost.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import ConfigurationError
from ._outcome import JobOutcome

JOURNAL_NAME = "flyte_runs.jsonl"
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


class Journal:
    """Appends job records to `<sweep dir>/flyte_runs.jsonl` from any thread."""

    def __init__(self, sweep_dir: str | os.PathLike[str]) -> None:
        self.path = Path(sweep_dir) / JOURNAL_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def sweep(self, **details: Any) -> None:
        """The sweep's own record: how to compose it again for a rerun."""
        self._append({"sweep": {**details, "time": time.time()}})

    def job(self, outcome: JobOutcome) -> None:
        self._append(
            {
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
        )


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


def read_journal(sweep_dir: str | os.PathLike[str], *, knob: str = "rerun_failed") -> JournalState:
    path = Path(sweep_dir) / JOURNAL_NAME
    if not path.is_file():
        raise ConfigurationError(
            f"{knob}={sweep_dir}: there is no {JOURNAL_NAME} in that folder. Point it at the sweep directory of "
            "an earlier sweep (the folder that holds its flyte_runs.jsonl)."
        )
    sweep: dict[str, Any] = {}
    jobs: dict[int, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        if "sweep" in record:
            sweep, jobs = record["sweep"], {}  # a later sweep in the same directory is the one that counts
        elif "num" in record:
            jobs[int(record["num"])] = record
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
