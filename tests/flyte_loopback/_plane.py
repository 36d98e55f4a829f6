"""The control plane proper: create runs, start their actions, abort them, shut everything down.

The Connect services translate requests into calls on `ControlPlane` and its state into
responses; keeping the behaviour here lets every service (RunService, DataProxyService and the
controller's QueueService/StateService) see the same runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from pathlib import Path

from flyteidl2.common import identifier_pb2
from flyteidl2.task import common_pb2, run_pb2, task_definition_pb2

from ._executor import Executor
from ._store import Action, Run, RunStore

logger = logging.getLogger(__name__)


class ControlPlane:
    """Runs, their files under `storage_dir`, and the processes executing them."""

    def __init__(self, storage_dir: Path, endpoint: str, nested: bool) -> None:
        self.storage_dir = storage_dir
        self.store = RunStore()
        self.executor = Executor(endpoint, nested=nested)
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def write_inputs(self, inputs: common_pb2.Inputs) -> tuple[str, str]:
        """Offload inputs as `inputs.pb` under a content-addressed folder; return (uri, hash)."""
        data = inputs.SerializeToString(deterministic=True)
        digest = hashlib.sha256(data).hexdigest()
        path = self.storage_dir / "inputs" / digest / "inputs.pb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return str(path), digest[:16]

    def create_run(
        self,
        run_id: identifier_pb2.RunIdentifier,
        task_spec: task_definition_pb2.TaskSpec,
        inputs: common_pb2.Inputs,
        inputs_uri: str,
        run_spec: run_pb2.RunSpec,
    ) -> Run:
        """Register a run with its root action `a0` and start executing it."""
        if not run_id.name:
            run_id.name = "r" + secrets.token_hex(5)
        if run_id.name in self.store.runs:
            raise KeyError(run_id.name)
        run = Run(run_id=run_id, run_spec=run_spec)
        self.store.runs[run_id.name] = run
        root = identifier_pb2.ActionIdentifier(run=run_id, name="a0")
        self.add_action(run, root, task_spec, inputs, inputs_uri, run_spec)
        return run

    def add_action(
        self,
        run: Run,
        action_id: identifier_pb2.ActionIdentifier,
        task_spec: task_definition_pb2.TaskSpec,
        inputs: common_pb2.Inputs,
        inputs_uri: str,
        run_spec: run_pb2.RunSpec,
        parent: str = "",
        group: str = "",
    ) -> Action:
        """Add an action to `run` and execute it in the background."""
        workdir = self.storage_dir / "runs" / run.run_id.name / action_id.name
        workdir.mkdir(parents=True, exist_ok=True)
        action = Action(
            action_id=action_id,
            task_spec=task_spec,
            run_spec=run_spec,
            inputs=inputs,
            inputs_uri=inputs_uri,
            workdir=workdir,
            parent=parent,
            group=group,
        )
        run.add(action)
        task = asyncio.get_running_loop().create_task(self.executor.execute(action))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        logger.info("Action %s/%s queued (task %s)", run.run_id.name, action_id.name, task_spec.short_name)
        return action

    def abort_run(self, run: Run, reason: str) -> None:
        """Abort every action of the run that has not finished yet, children first."""
        for action in reversed(list(run.actions.values())):
            self.executor.abort(action, reason)

    async def shutdown(self) -> None:
        """Kill every running action and end all watch streams."""
        self.stopping.set()
        for run in self.store.runs.values():
            self.abort_run(run, "flyte_loopback server stopped")
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
