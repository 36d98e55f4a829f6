"""Runs and actions the loopback server knows about, and their phase history.

Everything here lives on the server's event loop, so no locking is needed. Watchers wait on an
`asyncio.Event` that is swapped for a fresh one on every change: a watcher that grabbed the event
before reading a snapshot can never miss the change that follows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from flyteidl2.common import identifier_pb2, phase_pb2
from flyteidl2.core import execution_pb2
from flyteidl2.task import common_pb2, run_pb2, task_definition_pb2
from flyteidl2.workflow import run_definition_pb2, state_service_pb2
from google.protobuf import timestamp_pb2

TERMINAL_PHASES = frozenset(
    {
        phase_pb2.ACTION_PHASE_SUCCEEDED,
        phase_pb2.ACTION_PHASE_FAILED,
        phase_pb2.ACTION_PHASE_ABORTED,
        phase_pb2.ACTION_PHASE_TIMED_OUT,
    }
)


async def _first(*events: asyncio.Event) -> None:
    """Wait until any of `events` is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


@dataclass
class Action:
    """One action (the run's root `a0`, or a child task) and everything the server tracks for it."""

    action_id: identifier_pb2.ActionIdentifier
    task_spec: task_definition_pb2.TaskSpec
    run_spec: run_pb2.RunSpec
    inputs: common_pb2.Inputs
    inputs_uri: str
    workdir: Path
    parent: str = ""
    group: str = ""
    phase: int = phase_pb2.ACTION_PHASE_QUEUED
    transitions: list[tuple[int, float]] = field(default_factory=list)
    error: run_definition_pb2.ErrorInfo | None = None
    abort_reason: str | None = None
    outputs: common_pb2.Outputs | None = None
    on_change: Callable[[], None] | None = field(default=None, repr=False)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def __post_init__(self) -> None:
        self.transitions.append((self.phase, time.time()))

    @property
    def name(self) -> str:
        return self.action_id.name

    @property
    def done(self) -> bool:
        return self.phase in TERMINAL_PHASES

    @property
    def outputs_uri(self) -> str:
        return str(self.workdir / "outputs.pb")

    def set_phase(
        self,
        phase: int,
        *,
        error: run_definition_pb2.ErrorInfo | None = None,
        abort_reason: str | None = None,
        outputs: common_pb2.Outputs | None = None,
    ) -> None:
        """Move to `phase` (ignored once terminal, so a late process exit cannot undo an abort)."""
        if self.done or phase == self.phase:
            return
        self.phase = phase
        self.transitions.append((phase, time.time()))
        self.error = error
        self.abort_reason = abort_reason
        self.outputs = outputs
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        if self.on_change is not None:
            self.on_change()

    async def updates(self, stop: asyncio.Event) -> AsyncIterator[Action]:
        """Yield this action now and after every change, until it is terminal or `stop` is set."""
        while True:
            changed = self._changed
            yield self
            if self.done or stop.is_set():
                return
            await _first(changed, stop)

    def update(self) -> state_service_pb2.ActionUpdate:
        """This action's state as the parent's controller watches it (StateService.Watch)."""
        update = state_service_pb2.ActionUpdate(action_id=self.action_id, phase=self.phase)
        if self.outputs is not None:
            update.output_uri = str(self.workdir)
        if self.error is not None:
            kind = (
                execution_pb2.ExecutionError.USER
                if self.error.kind == run_definition_pb2.ErrorInfo.KIND_USER
                else execution_pb2.ExecutionError.SYSTEM
            )
            update.error.CopyFrom(
                execution_pb2.ExecutionError(code=self.error.code, message=self.error.message, kind=kind)
            )
        return update

    def status(self) -> run_definition_pb2.ActionStatus:
        started = self.transitions[0][1]
        status = run_definition_pb2.ActionStatus(phase=self.phase, start_time=_timestamp(started), attempts=1)
        if self.done:
            ended = self.transitions[-1][1]
            status.end_time.CopyFrom(_timestamp(ended))
            status.duration_ms = int((ended - started) * 1000)
        return status

    def metadata(self) -> run_definition_pb2.ActionMetadata:
        template = self.task_spec.task_template
        task_id = task_definition_pb2.TaskIdentifier(
            org=template.id.org,
            project=template.id.project,
            domain=template.id.domain,
            name=template.id.name,
            version=template.id.version,
        )
        return run_definition_pb2.ActionMetadata(
            parent=self.parent,
            group=self.group,
            task=run_definition_pb2.TaskActionMetadata(
                id=task_id, task_type=template.type, short_name=self.task_spec.short_name
            ),
            action_type=run_definition_pb2.ACTION_TYPE_TASK,
            environment_name=self.task_spec.environment.name,
        )

    def summary(self) -> run_definition_pb2.Action:
        return run_definition_pb2.Action(id=self.action_id, metadata=self.metadata(), status=self.status())

    def details(self) -> run_definition_pb2.ActionDetails:
        transitions = [
            run_definition_pb2.PhaseTransition(
                phase=phase,
                start_time=_timestamp(start),
                end_time=_timestamp(self.transitions[i + 1][1]) if i + 1 < len(self.transitions) else None,
            )
            for i, (phase, start) in enumerate(self.transitions)
        ]
        status = self.status()
        attempt = run_definition_pb2.ActionAttempt(
            phase=self.phase,
            start_time=status.start_time,
            end_time=status.end_time if self.done else None,
            error_info=self.error,
            attempt=1,
            phase_transitions=transitions,
        )
        details = run_definition_pb2.ActionDetails(
            id=self.action_id,
            metadata=self.metadata(),
            status=status,
            task=self.task_spec,
            attempts=[attempt],
            error_info=self.error,
        )
        if self.abort_reason is not None:
            details.abort_info.CopyFrom(run_definition_pb2.AbortInfo(reason=self.abort_reason))
        return details


@dataclass
class Run:
    """A run: its spec and its actions, the first of which is the root action `a0`."""

    run_id: identifier_pb2.RunIdentifier
    run_spec: run_pb2.RunSpec
    actions: dict[str, Action] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def root(self) -> Action:
        return next(iter(self.actions.values()))

    def add(self, action: Action) -> None:
        action.on_change = self._notify
        self.actions[action.name] = action
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def child_updates(self, parent: str, stop: asyncio.Event) -> AsyncIterator[list[Action]]:
        """Yield the children of `parent` whose phase changed since the last yield (first: all).

        Ends when the parent is terminal or `stop` is set.
        """
        seen: dict[str, int] = {}
        while True:
            changed = self._changed
            fresh = [a for a in list(self.actions.values()) if a.parent == parent and seen.get(a.name) != a.phase]
            seen.update((a.name, a.phase) for a in fresh)
            yield fresh
            owner = self.actions.get(parent)
            if stop.is_set() or (owner is not None and owner.done):
                return
            await _first(changed, stop)


class RunStore:
    """Every run of one server, by run name."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}

    def action(self, action_id: identifier_pb2.ActionIdentifier) -> Action | None:
        run = self.runs.get(action_id.run.name)
        return run.actions.get(action_id.name) if run else None
