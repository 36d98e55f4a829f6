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
