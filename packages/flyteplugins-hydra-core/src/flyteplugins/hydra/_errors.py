"""Exceptions raised to users; each message says what was wrong and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hydra.errors import CompactHydraException

if TYPE_CHECKING:
    from ._outcome import JobOutcome


_LISTED_FAILURES = 10


class FlyteHydraError(Exception):
    """Base class for every error this plugin raises on purpose."""


class ConfigurationError(FlyteHydraError, CompactHydraException, ValueError):
    """Bad input detected before any job was composed or submitted.

    A `CompactHydraException`, so that when it leaves a `@hydra.main` app (the launcher's settings,
    a rerun's journal, `apply_task_env`) Hydra prints just the message, not a traceback through its
    own frames; `HYDRA_FULL_ERROR=1` still shows the whole traceback.
    """


class JobFailedError(FlyteHydraError):
    """One job failed; carries its outcome (index, overrides, URL, cause)."""

    def __init__(self, outcome: JobOutcome) -> None:
        self.outcome = outcome
        super().__init__(outcome.describe())


class SweepFailedError(FlyteHydraError):
    """Some jobs of a sweep failed; every job's outcome is kept in `outcomes` and `results`."""

    def __init__(self, outcomes: list[JobOutcome]) -> None:
        self.outcomes = outcomes
        failed = [o for o in outcomes if not o.ok]
        lines = [f"{len(failed)} of {len(outcomes)} jobs failed:"]
        lines += [f"  {o.describe().splitlines()[0]}" for o in failed[:_LISTED_FAILURES]]
        if len(failed) > _LISTED_FAILURES:
            lines.append(
                f"  ... and {len(failed) - _LISTED_FAILURES} more: every job's outcome is in this error's `outcomes`, "
                "and in the sweep's journal (`flyte hydra results <sweep dir>`)"
            )
        super().__init__("\n".join(lines))

    @property
    def results(self) -> list[Any]:
        """Per-job results in job order; `None` where the job failed."""
        return [o.result for o in self.outcomes]


class RemoteRunError(FlyteHydraError):
    """A remote run reached a terminal phase other than SUCCEEDED."""

    def __init__(self, phase: str, url: str | None, detail: str | None) -> None:
        self.phase = phase
        self.url = url
        self.detail = detail
        message = f"Flyte run ended in phase {phase}"
        if url:
            message += f" ({url})"
        if detail:
            message += f": {detail}"
        super().__init__(message)


class ResultUnavailableError(RemoteRunError):
    """The run's state or outputs could not be read; the run itself did not fail, and keeps its real phase.

    A SUCCEEDED run whose outputs could not be fetched stays SUCCEEDED (a rerun leaves it alone); a
    run that could no longer be followed stays in its last known phase. Either can be read again later.
    """

    def __init__(self, phase: str, url: str | None, detail: str | None) -> None:
        super().__init__(phase, url, detail)
        where = f" ({url})" if url else ""
        if phase == "SUCCEEDED":
            what = f"Flyte run SUCCEEDED{where} but its outputs could not be read: {detail}"
            then = (
                "A rerun (rerun_failed) will not run it again; read them later with `flyte hydra results <sweep dir>` "
                "or Sweep.open(sweep_dir).results()"
            )
        else:
            what = f"Flyte run was last seen {phase}{where}, then could no longer be followed: {detail}"
            then = (
                "It may still be going: follow it with `flyte hydra wait <sweep dir>` or Sweep.open(sweep_dir).wait() "
                "(rerun_failed looks at it on the cluster before running it again)"
            )
        Exception.__init__(self, f"{what}. {then}.")
