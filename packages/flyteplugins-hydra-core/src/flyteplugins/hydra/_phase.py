"""Where a job stands. Phases are strings too, so the journal, messages and older comparisons read them as text."""

from __future__ import annotations

from enum import Enum

_FLYTE_GOING = frozenset({"UNSPECIFIED", "QUEUED", "WAITING_FOR_RESOURCES", "INITIALIZING", "RUNNING"})


class Phase(str, Enum):
    """A job's phase; remote runs end in Flyte's own terminal phase names (e.g. `TIMED_OUT`)."""

    PENDING = "PENDING"  # planned, not yet started
    PLANNED = "PLANNED"  # a dry run composed it
    RUNNING = "RUNNING"  # a local job started, or a remote run is known to be going
    SUBMITTING = "SUBMITTING"  # its submission is under way: a run of its name may exist before the answer comes
    SUBMITTED = "SUBMITTED"  # a remote run was created
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"  # stopped while it ran (Ctrl-C, abort)
    CANCELLED = "CANCELLED"  # never started: the sweep was stopped first (fail_fast or Ctrl-C)
    TIMED_OUT = "TIMED_OUT"
    NOT_SUBMITTED = "NOT_SUBMITTED"  # no run of the job is on the cluster: its submission never reached it

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, name: str) -> Phase:
        """Our phase for a Flyte phase name: its terminal phases keep their names, the others are RUNNING."""
        name = name.upper().removeprefix("ACTION_PHASE_").removeprefix("PHASE_")
        if name in _FLYTE_GOING:
            return cls.RUNNING
        try:
            return cls(name)
        except ValueError:
            return cls.FAILED

    @property
    def active(self) -> bool:
        return self in (Phase.SUBMITTED, Phase.RUNNING)

    @property
    def terminal(self) -> bool:
        return self not in (Phase.PENDING, Phase.PLANNED, Phase.SUBMITTING, Phase.SUBMITTED, Phase.RUNNING)
