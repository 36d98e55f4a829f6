"""`driver=cluster` for `@hydra.main` apps: the app's whole `--multirun` sweep as one Flyte run.

A `@hydra.main` app's job is its own Python function, which calls `flyte.run(...)` itself, so its jobs
cannot be child actions of a driver. Instead the client's launcher submits one run of `app_driver`,
which runs the app's sweep inside it exactly as `python app.py --multirun hydra/launcher=flyte
hydra.launcher.driver=local hydra.launcher.mode=remote ...` would on a laptop: Hydra's own sweeper
(grid, Optuna, ...) with the same `FlyteLauncher` and engine. Each job's `flyte.run` inside the driver
creates a run of its own that Flyte records as spawned by the driver run. The driver reads the sweep's
journal when it ends and returns the same `DriverResult` as `sweep_driver`, each job naming its run.

Two things make the app's code work unchanged in there:
- its `flyte.init_from_config()` finds no config file in a task container and would leave flyte with
  no client; the driver pins its own in-cluster init config for the sweep (a context-scoped init config
  wins over the app's global one), so the app's `flyte.run` goes to the cluster the driver runs on;
- its jobs' runs are not children of the driver, so aborting the driver does not stop them by itself:
  `abort_spawned` aborts the runs still going that Flyte records as spawned by the driver run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flyte

from ._driver import DriverResolver, env
from ._driver_plan import RESULTS_FILE, ChildRecord, DriverResult, plain_value

if TYPE_CHECKING:
    from hydra.core.utils import JobReturn

    from ._launcher import FlyteLauncher
    from ._outcome import JobOutcome

log = logging.getLogger("flyteplugins.hydra")

SHIM_DISTRIBUTION = "hydra-flyte-launcher"
_REPORT_SECONDS = 2.0
# Launcher settings the driver decides for the sweep it runs; the user's own values of these are dropped.
_DRIVER_SETTINGS = ("hydra.launcher.driver", "hydra.launcher.mode", "hydra.launcher.wait", "hydra.sweep.dir")


@dataclass(frozen=True)
class AppPlan:
    """What the app driver needs to run a `@hydra.main` sweep: the app, its configs, the sweep's overrides."""

    sweep_id: str
    app_module: str
    function: str
    config_name: str | None
    config_dir: str | None
    overrides: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> AppPlan:
        return cls(**json.loads(text))

    def argv(self, bundle_root: Path, sweep_dir: Path) -> list[str]:
        """The command line the app is run with inside the driver."""
        args = ["--multirun"]
        if self.config_dir is not None:
            args.append(f"--config-path={(bundle_root / self.config_dir).resolve()}")
        if self.config_name is not None:
            args.append(f"--config-name={self.config_name}")
        pinned = ["hydra.launcher.driver=local", "hydra.launcher.mode=remote", "hydra.launcher.wait=true"]
        return [*args, *self.overrides, *pinned, f"hydra.sweep.dir={sweep_dir}"]


class AppDriverResolver(DriverResolver):
    """Load `app_driver` by this package's module name (see `DriverResolver`)."""

    @property
    def import_path(self) -> str:
        return f"{__name__}.AppDriverResolver"

    def loader_args(self, task: Any, root_dir: Path) -> list[str]:
        return ["mod", __name__, "instance", "app_driver"]


@env.task(report=True)
async def app_driver(plan: str) -> str:
    """Run the `@hydra.main` sweep `plan` (an `AppPlan` as JSON); returns its `DriverResult` as JSON."""
    return (await drive_app(AppPlan.from_json(plan))).to_json()


# -- inside the driver ---------------------------------------------------------------------------


def _bundle_root() -> Path:
    from ._driver import _bundle_root as root

    return root()


def _run_app(plan: AppPlan, argv: list[str]) -> None:
    """Import the app from the bundle and run its `@hydra.main` function with `argv` (on a thread)."""
    import importlib

    module = importlib.import_module(plan.app_module)
    main = getattr(module, plan.function)
    # Hydra reports an error by printing it and exiting; the driver wants the exception itself.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    sys.argv = [str(getattr(module, "__file__", plan.app_module)), *argv]
    main()


def _records(sweep_dir: Path) -> list[ChildRecord]:
    """Every job the app's sweep journaled, in job order, each naming its own run."""
    from ._journal import JOURNAL_NAME, read_journal

    if not (sweep_dir / JOURNAL_NAME).is_file():
        return []
    state = read_journal(sweep_dir)
    return [
        ChildRecord(
            num=num,
            overrides=list(record.get("overrides") or []),
            phase=str(record.get("phase")),
            value=plain_value(record.get("result")),
            error=record.get("error"),
            action=record.get("run_name"),
            url=record.get("url"),
            started=record.get("started"),
            finished=record.get("finished"),
        )
        for num, record in sorted(state.jobs.items())
    ]


async def _show(plan: AppPlan, sweep_dir: Path) -> None:
    """The driver's Flyte report: the job table as the sweep's journal has it now."""
    from ._html_report import render_report

    rows = [r.for_report() for r in _records(sweep_dir)]
    header = {"sweep_id": plan.sweep_id, "task": plan.function, "mode": "remote"}
    try:
        await flyte.report.replace.aio(render_report(header, rows, fragment=True), do_flush=True)
    except Exception as e:  # the report is a view: a storage hiccup must not fail the sweep
        log.warning(f"Could not update the sweep report: {e}")


async def drive_app(plan: AppPlan) -> DriverResult:
    """Run the app's sweep here; every job it journaled, and the sweeper's result (Optuna's best, ...)."""
    from ._errors import FlyteHydraError
    from ._flyte_compat import get_init_config_or_none, init_config_context

    sweep_dir = Path(tempfile.mkdtemp(prefix="flyte-hydra-sweep-"))
    argv = plan.argv(_bundle_root(), sweep_dir)
    log.info(f"Running the app sweep: {' '.join(argv)}")
    failure: BaseException | None = None
    with init_config_context(get_init_config_or_none()):
        sweep = asyncio.ensure_future(asyncio.to_thread(_run_app, plan, argv))
        while not sweep.done():
            await asyncio.wait({sweep}, timeout=_REPORT_SECONDS)
            await _show(plan, sweep_dir)
        failure = sweep.exception()
    records = _records(sweep_dir)
    if failure is not None and not any(r.phase == "FAILED" for r in records):
        if isinstance(failure, SystemExit) and not failure.code:
            failure = None
        else:
            when = f"after {len(records)} job(s)" if records else "before any job ran"
            raise FlyteHydraError(f"The app's sweep failed {when}: {type(failure).__name__}: {failure}") from failure
    results = sweep_dir / RESULTS_FILE
    sweeper_result = None
    if results.is_file():
        from omegaconf import OmegaConf

        sweeper_result = plain_value(OmegaConf.to_container(OmegaConf.load(results), resolve=True))
    return DriverResult(plan.sweep_id, records, sweeper_result)


# -- on the client ---------------------------------------------------------------------------


def _app_location(task_function: Any, root: Path) -> tuple[str, str, str]:
    """The app's module name as the bundle will import it, its function's name, and its file under `root`."""
    from ._bundle_paths import relative_in_bundle
    from ._errors import ConfigurationError

    module = sys.modules.get(task_function.__module__)
    path = getattr(module, "__file__", None)
    if path is None:
        raise ConfigurationError(
            f"hydra.launcher.driver=cluster runs the app on the cluster from its file, but the function "
            f"{task_function.__qualname__!r} comes from {task_function.__module__!r}, which has no file. "
            "Run the app as a script (python app.py --multirun ...)."
        )
    where = Path(path).resolve()
    relative = relative_in_bundle(
        where,
        root,
        f"hydra.launcher.driver=cluster runs the app {where} on the cluster, so it must travel in the code "
        f"bundle; but it is outside flyte's root_dir {root}, which is what gets bundled. Run it from a folder "
        "that holds it (flyte's root_dir defaults to the current directory), or set root_dir in flyte.init.",
    )
    dotted = ".".join(relative.with_suffix("").parts)
    return dotted, task_function.__name__, str(relative)


def _config_dir(config: Any, root: Path) -> tuple[str | None, list[str]]:
    """The app's config directory relative to `root`, and its files, for the bundle; refused if outside."""
    from ._bundle_paths import bundled_files, relative_in_bundle

    sources = [s for s in config.hydra.runtime.config_sources if s.provider == "main"]
    if not sources or sources[0].schema != "file":
        return None, []
    where = Path(sources[0].path).resolve()
    relative = relative_in_bundle(
        where,
        root,
        f"hydra.launcher.driver=cluster composes the sweep's jobs on the cluster, so the config directory must "
        f"travel in the code bundle; but {where} is outside flyte's root_dir {root}, which is what gets bundled. "
        "Move the configs under the root dir, or set root_dir (flyte.init(root_dir=...)) to a folder holding "
        "both the app and its configs.",
    )
    files = bundled_files(where, root)
    return str(relative), files


def sweep_overrides(config: Any) -> list[str]:
    """The sweep's command-line overrides as the driver passes them on: the driver's own settings left out."""
    overrides = [*config.hydra.overrides.hydra, *config.hydra.overrides.task]
    return [o for o in overrides if o.lstrip("+~").split("=", 1)[0] not in _DRIVER_SETTINGS]


def app_driver_image(sweeper_target: str | None) -> Any:
    """The driver's image: a prebuilt default named in the flyte config, else flyte's base plus our packages.

    A `@hydra.main` app names no entry task until its function runs, so there is no task image to extend:
    the image named `default` under `image.image_refs` (what `image="auto"` means) is taken to hold the
    app's imports, this package and the launcher plugin; without one, flyte's Debian base gets a pip layer.
    """
    from importlib.metadata import version

    from ._driver_client import _packages
    from ._flyte_compat import get_init_config_or_none

    config = get_init_config_or_none()
    if config is not None and "default" in (config.images or {}):
        return "auto"
    packages = [*_packages(sweeper_target), f"{SHIM_DISTRIBUTION}=={version(SHIM_DISTRIBUTION)}"]
    return flyte.Image.from_debian_base().with_pip_packages(*packages)


def _driver_task(image: Any) -> tuple[Any, Any]:
    """`app_driver` bound to an environment with `image`; the caller keeps the environment alive while submitting."""
    from ._driver_client import bind_driver

    return bind_driver(app_driver, env, AppDriverResolver(), image, [])


def submit_app_sweep(launcher: FlyteLauncher, job_overrides: Sequence[Sequence[str]], first: int) -> list[JobOutcome]:
    """Submit the app's whole sweep as one driver run; with `wait`, every job's outcome once it has finished."""
    from omegaconf import OmegaConf

    from ._bundle_paths import flyte_root_dir
    from ._driver_client import _driver_run_name, finish
    from ._driver_plan import DRIVER_LABEL
    from ._flyte_compat import SweepCodeBundle
    from ._identity import SWEEP_LABEL, SweepIdentity
    from ._journal import Journal
    from ._outcome import JobOutcome
    from ._phase import Phase
    from ._report import come_back_later, sweep_started
    from ._submission import check_run_options

    config, options = launcher.config, launcher.options
    assert config is not None and launcher.task_function is not None
    root = flyte_root_dir()
    module, function, script = _app_location(launcher.task_function, root)
    config_dir, files = _config_dir(config, root)
    identity = SweepIdentity.new()
    plan = AppPlan(
        sweep_id=identity.sweep_id,
        app_module=module,
        function=function,
        config_name=config.hydra.job.config_name,
        config_dir=config_dir,
        overrides=sweep_overrides(config),
    )
    sweeper_target = OmegaConf.select(config, "hydra.sweeper._target_")
    task, bound_env = _driver_task(app_driver_image(sweeper_target))
    run_options = check_run_options(options.run_options)
    run_options["name"] = _driver_run_name(function, identity.token, run_options.get("name"))
    run_options["labels"] = {**(run_options.get("labels") or {}), SWEEP_LABEL: plan.sweep_id, DRIVER_LABEL: "cluster"}
    journal = Journal(str(config.hydra.sweep.dir))
    journal.sweep(
        surface=launcher.surface,
        config_name=plan.config_name,
        overrides=list(config.hydra.overrides.task),
        driver="cluster",
        driver_run=run_options["name"],
        driver_task="app",
        **identity.header(mode="remote", task=function),
    )
    sweep_started(plan.sweep_id, journal.path)
    for offset, overrides in enumerate(job_overrides):
        journal.job(JobOutcome(first + offset, list(overrides)))
    bundle = SweepCodeBundle()
    bundle.extra_files = (script, *files)
    runner = bundle.apply(flyte.with_runcontext(mode="remote", **run_options))  # type: ignore[arg-type]
    run = runner.run(task, plan=plan.to_json())
    del bound_env
    print(f"Flyte run submitted (sweep driver of {function}): {run.url}", flush=True)
    if not options.wait:
        come_back_later(journal.path.parent)
        submitted = []
        for offset, overrides in enumerate(job_overrides):
            outcome = JobOutcome(first + offset, list(overrides), phase=Phase.SUBMITTED, url=run.url, run_name=run.name)
            outcome.handle = outcome.result = run
            submitted.append(outcome)
        return submitted
    return finish(run, journal, style=options.progress)


def job_returns(outcomes: Sequence[JobOutcome], job_overrides: Sequence[Sequence[str]], first: int) -> list[JobReturn]:
    """Hydra's view of one batch of a driven sweep: each job's recorded outcome, or the driver run itself."""
    from hydra.core.utils import JobReturn, JobStatus

    by_num = {o.num: o for o in outcomes}
    returns = []
    for offset, overrides in enumerate(job_overrides):
        outcome = by_num.get(first + offset)
        ret = JobReturn(overrides=list(overrides))
        if outcome is not None and outcome.ok:
            ret.status, ret.return_value = JobStatus.COMPLETED, outcome.result
        else:
            ret.status = JobStatus.FAILED
            missing = RuntimeError(f"the sweep driver ran no job #{first + offset}")
            ret.return_value = outcome.error if outcome is not None else missing
        returns.append(ret)
    return returns


def abort_spawned(driver: Any, reason: str) -> list[str]:
    """Abort the runs still going that Flyte records as spawned by run `driver`; their names.

    An app-driven sweep's jobs are runs of their own (the app's `flyte.run`), linked to the driver run by
    their `spawn` relation, so aborting the driver does not reach them.
    """
    from flyte.remote import Run

    going = ("queued", "waiting_for_resources", "initializing", "running", "paused")
    aborted = []
    for run in Run.listall(in_phase=going):
        relation = run.details().pb2.run_spec.relation
        if relation.related_to.name == driver.name:
            run.abort(reason=reason)
            aborted.append(run.name)
    return aborted
