"""The cluster driver: a whole sweep as one Flyte run, each of its jobs a child action of that run.

`sweep_driver` is the task the client submits for `driver=cluster`. Inside it the sweep runs as it
would on the user's machine, except that each job is the entry task called from here, which Flyte
turns into a child action of this run: grouped in the UI as `#<num> <overrides>`, started with the
job's lowered `task_env`, at most `max_parallel` at a time. A grid sweep arrives composed; a sampling
sweeper (Optuna, ...) runs here, on a thread, and hands each batch to `_ChildLauncher`, which runs it
on the task's event loop. A failed child fails its job only; the driver reports every job.

The module is imported by the driver's own container (which is why the image must hold this package)
and by the client when it submits; never by Hydra's plugin scan or the flyte CLI's start-up.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import flyte
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher

from ._driver_plan import RESULTS_FILE, ChildRecord, DriverPlan, DriverResult, PlannedChild, group_name, plain_value
from ._flyte_compat import default_task_resolver

log = logging.getLogger("flyteplugins.hydra")

DRIVER_ENV_NAME = "flyte-hydra-driver"
env = flyte.TaskEnvironment(name=DRIVER_ENV_NAME, resources=flyte.Resources(cpu=1, memory="1Gi"))


class DriverResolver(default_task_resolver()):  # type: ignore[misc]
    """Load the driver by this package's module name, wherever the package is installed.

    flyte's default resolver names a task's module by its file's path under root_dir unless it is in
    site-packages; an editable or source install under root_dir would then be imported as a second,
    path-named copy. The driver's image installs this package, so its import name is the right one.
    (A private flyte base class; see `_flyte_compat`.)
    """

    @property
    def import_path(self) -> str:
        return f"{__name__}.DriverResolver"

    def loader_args(self, task: Any, root_dir: Path) -> list[str]:
        return ["mod", __name__, "instance", "sweep_driver"]


@env.task(report=True)
async def sweep_driver(plan: str) -> str:
    """Run the sweep `plan` (a `DriverPlan` as JSON); returns its `DriverResult` as JSON."""
    return (await drive(DriverPlan.from_json(plan))).to_json()


class _Sweep:
    """The jobs of one driver run: the entry task, the cap, fail_fast, and a record per job started."""

    def __init__(self, plan: DriverPlan) -> None:
        module = importlib.import_module(plan.task_module)
        self.plan = plan
        self.entry = getattr(module, plan.task_name)
        self.records: dict[int, ChildRecord] = {}
        self.slots = asyncio.Semaphore(plan.max_parallel or 1_000_000)
        self.stop = asyncio.Event()

    async def run(self, jobs: Sequence[PlannedChild]) -> list[ChildRecord]:
        """Every job as a child action, at most `max_parallel` at once; one record each, in job order."""
        for job in jobs:
            self.records[job.num] = ChildRecord(job.num, list(job.overrides), group=group_name(job.num, job.overrides))
        await asyncio.gather(*(self._child(job) for job in jobs))
        await self._name_actions()
        await self._show()
        return [self.records[job.num] for job in jobs]

    async def _child(self, job: PlannedChild) -> None:
        from omegaconf import OmegaConf

        from ._task_env import apply_task_env

        record = self.records[job.num]
        async with self.slots:
            if self.stop.is_set():
                record.phase, record.error = "CANCELLED", "not started: an earlier job failed and fail_fast is set"
                return
            record.phase, record.started = "RUNNING", time.time()
            await self._show()
            try:
                cfg = OmegaConf.create(job.config)
                child = apply_task_env(self.entry, cfg, task_env_key=self.plan.task_env_key)
                with flyte.group(record.group or str(job.num)):
                    value = await child.aio(**{self.plan.config_param: cfg, **self.plan.task_inputs})
                record.phase, record.value = "SUCCEEDED", plain_value(value)
            except Exception as e:
                record.phase, record.error = "FAILED", f"{type(e).__name__}: {e}"
                if self.plan.fail_fast:
                    self.stop.set()
            finally:
                record.finished = time.time()
        await self._show()

    async def _name_actions(self) -> None:
        """Each record gets the name of its child action, found by the job's group among this run's actions."""
        from flyte.remote import Action

        ctx = flyte.ctx()
        if ctx is None or ctx.action is None:
            return
        unnamed = {r.group: r for r in self.records.values() if r.action is None and r.phase != "CANCELLED"}
        if not unnamed:
            return
        try:
            async for action in Action.listall.aio(for_run_name=ctx.action.run_name):
                record = unnamed.get(action.pb2.metadata.group)
                if record is not None and action.name != ctx.action.name:
                    record.action = action.name
        except Exception as e:  # names help find a child in the UI; the sweep's result stands without them
            log.warning(f"Could not list the child actions of run {ctx.action.run_name}: {e}")

    async def _show(self) -> None:
        """Keep the driver's Flyte report showing the job table, so the UI follows the sweep."""
        from ._html_report import render_report

        rows = [r.for_report() for r in sorted(self.records.values(), key=lambda r: r.num)]
        header = {"sweep_id": self.plan.sweep_id, "task": getattr(self.entry, "name", None), "mode": "remote"}
        try:
            await flyte.report.replace.aio(render_report(header, rows, fragment=True), do_flush=True)
        except Exception as e:  # the report is a view: a storage hiccup must not fail the sweep
            log.warning(f"Could not update the sweep report: {e}")


async def drive(plan: DriverPlan) -> DriverResult:
    sweep = _Sweep(plan)
    if not plan.sampling:
        records = await sweep.run(plan.jobs)
        return DriverResult(plan.sweep_id, records)
    loop = asyncio.get_running_loop()
    sweeper_result = await asyncio.to_thread(_sample, plan, sweep, loop)
    records = [sweep.records[n] for n in sorted(sweep.records)]
    return DriverResult(plan.sweep_id, records, sweeper_result)


def _bundle_root() -> Path:
    """Where the code bundle was unpacked: config directories are found relative to it."""
    ctx = flyte.ctx()
    bundle = getattr(ctx, "code_bundle", None) if ctx is not None else None
    destination = getattr(bundle, "destination", None)
    return Path(destination) if destination else Path.cwd()


def _sample(plan: DriverPlan, sweep: _Sweep, loop: asyncio.AbstractEventLoop) -> dict[str, Any] | None:
    """Run the sampling sweeper here (a thread of the driver), each batch as child actions on `loop`."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.plugins import Plugins
    from hydra.types import HydraContext, RunMode
    from omegaconf import OmegaConf

    from ._compose import make_config_loader
    from ._engine import _install_launcher
    from ._errors import ConfigurationError
    from ._hydra_compat import callbacks, hydra_runtime

    assert plan.config_dir is not None
    config_dir = _bundle_root() / plan.config_dir
    if not config_dir.is_dir():
        raise ConfigurationError(
            f"The config directory {plan.config_dir} is not in the code bundle (looked in {config_dir}). "
            "Keep the config directory under flyte's root_dir so it is bundled."
        )
    loader = make_config_loader(str(config_dir))
    hydra = hydra_runtime(sweep.entry.short_name, loader)
    cfg = hydra.compose_config(plan.config_name, plan.overrides, run_mode=RunMode.MULTIRUN)
    HydraConfig.instance().set_config(cfg)
    context = HydraContext(config_loader=loader, callbacks=callbacks(cfg))
    sweeper = Plugins.instance().instantiate_sweeper(config=cfg, hydra_context=context, task_function=_no_task)
    launcher = _ChildLauncher(sweep, loop)
    launcher.setup(hydra_context=context, task_function=_no_task, config=cfg)
    _install_launcher(sweeper, launcher)
    sweeper.sweep(arguments=OmegaConf.to_container(cfg.hydra.overrides.task, resolve=False))  # type: ignore[arg-type]
    results = Path(str(cfg.hydra.sweep.dir)) / RESULTS_FILE
    if not results.is_file():
        return None
    container = OmegaConf.to_container(OmegaConf.load(results), resolve=True)
    return plain_value(container)


def _no_task(cfg: Any) -> None:
    raise AssertionError("the cluster driver runs jobs as child tasks, never as Hydra task functions")


class _ChildLauncher(Launcher):
    """Hydra's launcher protocol inside the driver: compose a batch here, run it as child actions on the loop."""

    def __init__(self, sweep: _Sweep, loop: asyncio.AbstractEventLoop) -> None:
        self.sweep, self.loop = sweep, loop
        self.config: Any = None
        self.hydra_context: Any = None

    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        from ._compose import ComposingLoader

        hydra_context.config_loader = ComposingLoader.wrap(hydra_context.config_loader)
        self.hydra_context, self.config = hydra_context, config

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from omegaconf import OmegaConf

        from ._compose import task_config

        composer = self.hydra_context.config_loader.composer(self.config)
        jobs = []
        for offset, overrides in enumerate(job_overrides):
            num = initial_job_idx + offset
            cfg = task_config(composer.compose(list(overrides), num))
            jobs.append(PlannedChild(num, list(overrides), OmegaConf.to_container(cfg, resolve=True)))  # type: ignore[arg-type]
        records = asyncio.run_coroutine_threadsafe(self.sweep.run(jobs), self.loop).result()
        returns = []
        for record in records:
            ret = JobReturn(overrides=record.overrides)
            if record.phase == "SUCCEEDED":
                ret.status, ret.return_value = JobStatus.COMPLETED, record.value
            else:
                ret.status, ret.return_value = JobStatus.FAILED, RuntimeError(record.error or record.phase)
            returns.append(ret)
        return returns
