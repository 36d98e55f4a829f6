"""Execute an action the way a Flyte pod would: run its container args as a local subprocess.

There is no cluster here, so the task's own command line (`a0 ...` from the task template) runs
with this interpreter's environment. The SDK's `replace_task_cli` fills in the template
placeholders (`{{.input}}`, `{{.outputPrefix}}`, ...) with paths under the action's work
directory, and the result is read back from `outputs.pb` / `error.pb` there, as propeller would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

from flyteidl2.common import phase_pb2
from flyteidl2.core import execution_pb2
from flyteidl2.task import common_pb2
from flyteidl2.workflow import run_definition_pb2
from google.protobuf import json_format

from ._store import Action

logger = logging.getLogger(__name__)

_LOG_TAIL_BYTES = 4000


def _primary_container(action: Action) -> tuple[list[str], dict[str, str]]:
    """Args and env of the container that runs the task, for container and pod-template tasks."""
    template = action.task_spec.task_template
    if template.HasField("container"):
        return list(template.container.args), {kv.key: kv.value for kv in template.container.env}
    if template.HasField("k8s_pod"):
        primary = template.config.get("primary_container_name", "primary")
        pod_spec = json_format.MessageToDict(template.k8s_pod.pod_spec)
        for container in pod_spec.get("containers", []):
            if container.get("name") == primary:
                env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
                return list(container.get("args", [])), env
        raise ValueError(f"Pod template has no container named {primary!r} (task config primary_container_name)")
    raise ValueError(f"Task {template.id.name!r} has neither a container nor a pod template; cannot run it locally")


class Executor:
    """Starts, watches and kills the subprocesses of actions.

    Tasks reach the control plane at `endpoint`. With `nested` false they run as clustered
    workers (`FLYTE_CLUSTERED_WORKER=1`): no controller starts, so they start faster but cannot
    call other tasks; with `nested` true they get a controller that enqueues child actions here.
    `nested` is read when each action starts, so it may be changed between runs.
    """

    def __init__(self, endpoint: str, nested: bool) -> None:
        self._endpoint = endpoint
        self.nested = nested
        self._processes: dict[tuple[str, str], asyncio.subprocess.Process] = {}
        self._bin_dir = Path(sys.executable).parent
        # At most this many task processes at once (None: no limit); the rest stay QUEUED, as on a
        # cluster without free capacity. Benchmarks set it so the machine's cores serve the RPCs too.
        self.max_running: int | None = None
        self._slots: asyncio.Semaphore | None = None
        # Seconds after which an action succeeds with no outputs, without running its task (None:
        # run it). Benchmarks of many runs set it: the client is measured, not task start-up.
        self.simulate: float | None = None

    def _command(self, action: Action) -> tuple[list[str], dict[str, str]]:
        from flyte._internal.runtime.convert import Inputs
        from flyte._internal.runtime.taskrunner import replace_task_cli
        from flyte.models import ActionID

        args, container_env = _primary_container(action)
        run = action.action_id.run
        action_ref = ActionID(name=action.name, run_name=run.name, project=run.project, domain=run.domain, org=run.org)
        args = replace_task_cli(args, Inputs(proto_inputs=action.inputs), action.workdir, action_ref)
        args[0] = shutil.which(args[0], path=str(self._bin_dir)) or args[0]

        env = {k: v for k, v in os.environ.items() if k not in ("FLYTECTL_CONFIG", "UCTL_CONFIG")}
        env["PATH"] = f"{self._bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env.update(container_env)
        env.update({kv.key: kv.value for kv in action.run_spec.envs.values})
        env.update(
            {
                "_U_RUN_BASE": str(action.workdir.parent),
                "_U_ORG_NAME": run.org,
                "FLYTE_INTERNAL_EXECUTION_PROJECT": run.project,
                "FLYTE_INTERNAL_EXECUTION_DOMAIN": run.domain,
                "RUN_NAME": run.name,
                "ACTION_NAME": action.name,
                "_U_EP_OVERRIDE": self._endpoint,
                "_U_INSECURE": "true",
                # Storage URIs here are local paths: let fsspec create the folders an object store
                # would not need (e.g. where a parent task writes its child's inputs).
                "FSSPEC_FILE": json.dumps({"auto_mkdir": True}),
            }
        )
        if not self.nested:
            env["FLYTE_CLUSTERED_WORKER"] = "1"
        return args, env

    async def execute(self, action: Action) -> None:
        """Run the action to completion and record its terminal phase (unless it was aborted)."""
        if self.max_running is None:
            await self._execute(action)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_running)
        async with self._slots:
            await self._execute(action)

    async def _execute(self, action: Action) -> None:
        if action.done:
            return
        if self.simulate is not None:
            action.set_phase(phase_pb2.ACTION_PHASE_RUNNING)
            await asyncio.sleep(self.simulate)
            if not action.done:
                action.set_phase(phase_pb2.ACTION_PHASE_SUCCEEDED, outputs=common_pb2.Outputs())
            return
        try:
            args, env = self._command(action)
        except Exception as e:
            logger.exception("Cannot build the command of action %s", action.action_id)
            action.set_phase(phase_pb2.ACTION_PHASE_FAILED, error=_system_error(f"flyte_loopback: {e}"))
            return
        code_dir = action.workdir / "code"
        code_dir.mkdir(parents=True, exist_ok=True)
        log_path = action.workdir / "logs.txt"
        key = (action.action_id.run.name, action.name)
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *args, cwd=code_dir, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True
            )
        self._processes[key] = process
        logger.info("Action %s/%s started as pid %d", key[0], key[1], process.pid)
        if action.done:  # aborted while the process was being spawned
            _kill(process)
        action.set_phase(phase_pb2.ACTION_PHASE_RUNNING)
        try:
            returncode = await process.wait()
        finally:
            self._processes.pop(key, None)
        logger.info("Action %s/%s exited with %d", key[0], key[1], returncode)
        self._collect(action, returncode, log_path)

    def _collect(self, action: Action, returncode: int, log_path: Path) -> None:
        error_file = action.workdir / "error.pb"
        outputs_file = action.workdir / "outputs.pb"
        if error_file.exists():
            document = execution_pb2.ErrorDocument.FromString(error_file.read_bytes())
            kind = (
                run_definition_pb2.ErrorInfo.KIND_USER
                if document.error.origin == execution_pb2.ExecutionError.USER
                else run_definition_pb2.ErrorInfo.KIND_SYSTEM
            )
            error = run_definition_pb2.ErrorInfo(message=document.error.message, code=document.error.code, kind=kind)
            action.set_phase(phase_pb2.ACTION_PHASE_FAILED, error=error)
        elif returncode == 0:
            outputs = (
                common_pb2.Outputs.FromString(outputs_file.read_bytes())
                if outputs_file.exists()
                else common_pb2.Outputs()
            )
            action.set_phase(phase_pb2.ACTION_PHASE_SUCCEEDED, outputs=outputs)
        else:
            tail = log_path.read_bytes()[-_LOG_TAIL_BYTES:].decode(errors="replace")
            message = f"Task process exited with code {returncode} without writing error.pb. Log tail:\n{tail}"
            action.set_phase(phase_pb2.ACTION_PHASE_FAILED, error=_system_error(message))

    def abort(self, action: Action, reason: str) -> None:
        """Mark the action aborted and kill its process group, if it is running."""
        if action.done:
            return
        action.set_phase(phase_pb2.ACTION_PHASE_ABORTED, abort_reason=reason)
        process = self._processes.get((action.action_id.run.name, action.name))
        if process is not None:
            logger.info("Killing action %s (pid %d): %s", action.action_id.name, process.pid, reason)
            _kill(process)


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the whole process group: the task may have started processes of its own."""
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        logger.debug("Process %d already gone", process.pid)


def _system_error(message: str) -> run_definition_pb2.ErrorInfo:
    return run_definition_pb2.ErrorInfo(
        message=message, code="LoopbackExecutionError", kind=run_definition_pb2.ErrorInfo.KIND_SYSTEM
    )
