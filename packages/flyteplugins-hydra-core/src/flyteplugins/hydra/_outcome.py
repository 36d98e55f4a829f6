"""What happened to each job, and the result object users and sweepers receive."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._phase import Phase


class RunPhase(str):
    """A run's phase by name (`"SUCCEEDED"`) that also equals flyte's `ActionPhase` member for it.

    2.x handed out the run's `flyte.models.ActionPhase` (`result.phase == ActionPhase.SUCCEEDED`),
    3.0 a plain name (`result.phase == "SUCCEEDED"`); both comparisons hold, in any letter case.

    >>> RunPhase("SUCCEEDED") == "succeeded"
    True
    """

    __slots__ = ()

    def __new__(cls, phase: object) -> RunPhase:
        return super().__new__(cls, _phase_name(phase))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str.__eq__(self, _phase_name(other))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__


def _phase_name(phase: object) -> str:
    """`ActionPhase.SUCCEEDED`, `"succeeded"` and `"SUCCEEDED"` all name the phase `SUCCEEDED`."""
    import enum

    name = phase.name if isinstance(phase, enum.Enum) else str(phase)
    return name.upper()


class RunResult:
    """A finished Flyte run: the task's output (`value`) and where to look at it (`url`).

    Hydra sweepers such as Optuna read a job's return value as a number, so the result converts
    with `float()`; a task returning a tuple keeps its tuple in `value` and unpacks by iteration.
    Unknown attributes are looked up on the underlying `flyte.remote.Run` when there is one. A job of a
    `driver=cluster` sweep is a child action of the driver run: `url` is that run's, `action` the child's name.

    >>> result = RunResult(0.25, url="/tmp/flyte/metadata/run-1")
    >>> float(result), result.value
    (0.25, 0.25)
    """

    __slots__ = ("action", "phase", "run", "url", "value")

    def __init__(
        self,
        value: Any,
        url: str | None = None,
        run: Any = None,
        phase: object = "SUCCEEDED",
        action: str | None = None,
    ) -> None:
        self.value = value
        self.url = url
        self.run = run
        self.phase = RunPhase(phase)
        self.action = action

    def __float__(self) -> float:
        return float(self.value)

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.value, (tuple, list)):
            return iter(self.value)
        return iter((self.value,))

    def __getattr__(self, name: str) -> Any:
        run = object.__getattribute__(self, "run")
        if run is None:
            raise AttributeError(name)
        return getattr(run, name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RunResult):
            return (self.value, self.url) == (other.value, other.url)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RunResult(value={self.value!r}, url={self.url!r})"


@dataclass
class JobOutcome:
    """One job's fate, filled in as it is submitted and as it finishes."""

    num: int
    overrides: Sequence[str]
    phase: Phase = Phase.PENDING
    url: str | None = None
    run_name: str | None = None
    result: Any = None
    error: BaseException | None = None
    handle: Any = field(default=None, repr=False)
    started: float | None = None
    finished: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    def describe(self) -> str:
        where = f" {self.url}" if self.url else ""
        overrides = " ".join(self.overrides) or "(no overrides)"
        text = f"job #{self.num} [{overrides}] {self.phase}{where}"
        if self.error is not None:
            text += f": {type(self.error).__name__}: {self.error}"
        return text
