"""`driver=cluster` on the client: plan the sweep, submit the one driver run, and read its result.

The engine calls `launch_on_cluster` for a sweep with `driver=cluster`. A grid sweep is composed here
(the cheap place: composition needs nothing from the cluster) and each job's config travels in the
plan; a sampling sweeper composes inside the driver, so the config directory goes into the code
bundle. The driver runs in the entry task's image with this package added (`driver_image`). The
sweep is journaled like a local-driver sweep, its header naming the driver run, so `Sweep.open`
and `flyte hydra status|wait|results|abort` find it again from any process.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._driver_plan import DRIVER_LABEL, RESULTS_FILE, DriverPlan, DriverResult, PlannedChild, jsonable
from ._errors import ConfigurationError, RemoteRunError
from ._identity import MAX_RUN_NAME, SWEEP_LABEL, _name_part
from ._outcome import JobOutcome, RunResult
from ._phase import Phase

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader
    from omegaconf import DictConfig

    from ._engine import LaunchRequest
    from ._journal import Journal
    from ._submission import Submission

CORE_DISTRIBUTION = "flyteplugins-hydra-core"


# -- the image -------------------------------------------------------------------------------


def _distribution_of(module: str) -> str | None:
    """The installed distribution that provides top-level module path `module` (e.g. a sweeper plugin)."""
    from importlib.metadata import packages_distributions

    top = module.split(".", maxsplit=1)[0]
    names = packages_distributions().get(top, [])
    if top == "hydra_plugins":
        leaf = module.split(".")[1] if "." in module else ""
        names = [n for n in names if n.replace("-", "_").lower() == leaf.lower()] or names
    return names[0] if names else None


def _packages(sweeper_target: str | None) -> list[str]:
    from importlib.metadata import version

    packages = [f"{CORE_DISTRIBUTION}=={version(CORE_DISTRIBUTION)}"]
    if sweeper_target:
        plugin = _distribution_of(sweeper_target)
        if plugin and plugin != "hydra-core":
            packages.append(f"{plugin}=={version(plugin)}")
    return packages


def driver_image(entry: Any, sweeper_target: str | None = None) -> Any:
    """The image the driver runs in: the entry task's, with this package (and the sweeper plugin) in it.

    - an image flyte builds (`flyte.Image`, not a bare reference): the same image plus a pip layer;
    - `"auto"` with `image.image_refs.default` configured, or `flyte.Image.from_ref_name(...)`
      without layers: a prebuilt image named in the flyte config, taken to hold the package (the
      config is where you declare what a prebuilt image holds);
    - `"auto"` without a configured default: flyte's Debian base image plus the pip layer;
    - a plain image URI string: refused, since nothing can be added to an image flyte does not build.
    """
    import flyte

    from ._flyte_compat import get_init_config_or_none

    env = entry.parent_env() if entry.parent_env is not None else None
    image = getattr(env, "image", "auto") if env is not None else entry.image
    packages = _packages(sweeper_target)
    if image is None or image == "auto":
        config = get_init_config_or_none()
        if config is not None and "default" in (config.images or {}):
            return "auto"
        return flyte.Image.from_debian_base().with_pip_packages(*packages)
    if isinstance(image, str):
        raise ConfigurationError(
            f"driver=cluster runs the sweep in the entry task's image, but task '{entry.name}' uses the prebuilt "
            f"image {image!r}, to which {CORE_DISTRIBUTION} cannot be added. Either let flyte build it: "
            f"image=flyte.Image.from_base({image!r}) (the driver's image is then that one plus a layer with "
            f"{', '.join(packages)}); "
            "or, if that image already holds those packages, name it under image.image_refs in the flyte config "
            "and use image=flyte.Image.from_ref_name('<name>')."
        )
    if image._ref_name is not None and not image._layers:
        return image
    if not image.extendable or not image.name:
        # flyte adds layers only to a named, extendable image (`Image.from_base(...)` is neither).
        image = image.clone(name=f"{image.name or 'flyte-hydra'}-driver", extendable=True)
    return image.with_pip_packages(*packages)


def driver_task(entry: Any, image: Any) -> tuple[Any, Any]:
    """The driver task bound to an environment with `image` that depends on the entry task's environment.

    The dependency makes flyte resolve (or build) the entry task's image with the driver's and ship it
    to the driver, which needs it to start its children.
    """
    from ._driver import DriverResolver, env, sweep_driver

    entry_env = entry.parent_env() if entry.parent_env is not None else None
    return bind_driver(sweep_driver, env, DriverResolver(), image, [entry_env] if entry_env is not None else [])


def bind_driver(task: Any, task_env: Any, resolver: Any, image: Any, depends_on: list[Any]) -> tuple[Any, Any]:
    """`task` (a driver task of `task_env`) bound to a copy of that environment with `image`.

    Returns (task, environment): the task holds its environment weakly, so the caller keeps the
    environment alive while submitting.
    """
    bound_env = task_env.clone_with(task_env.name, image=image, depends_on=depends_on)
    bound = dataclasses.replace(
        task,
        image=image,
        parent_env=weakref.ref(bound_env),
        parent_env_name=bound_env.name,
        task_resolver=resolver,
    )
    return bound, bound_env


# -- the plan --------------------------------------------------------------------------------


def _task_location(entry: Any) -> tuple[str, str]:
    from ._flyte_compat import task_module

    return task_module(entry)


def _config_dir_in_bundle(request: LaunchRequest) -> tuple[str, list[str]]:
    """The config directory relative to flyte's root_dir, and its files, for the bundle; refused if outside."""
    from ._bundle_paths import bundled_files, flyte_root_dir, relative_in_bundle
    from ._compose import resolve_config_dir
    from ._options import knob

    config_dir = resolve_config_dir(request.config_path)
    root = flyte_root_dir()
    if config_dir is None:
        raise ConfigurationError(
            "driver=cluster with a sampling sweeper composes each trial on the cluster, from the config "
            f"directory, but this launch has none. Pass {knob('config_path', request.surface)}."
        )
    where = Path(config_dir).resolve()
    relative = relative_in_bundle(
        where,
        root,
        f"driver=cluster with a sampling sweeper composes each trial on the cluster, so the config directory "
        f"must travel in the code bundle; but {where} is outside flyte's root_dir {root}, which is what gets "
        "bundled. Move the configs under the root dir, or set root_dir (flyte.init(root_dir=...)) to a folder "
        "holding both the code and the configs.",
    )
    files = bundled_files(where, root)
    return str(relative), files


def _grid_children(
    loader: ConfigLoader, request: LaunchRequest, overrides: list[str]
) -> tuple[list[PlannedChild], str]:
    """Every job of a grid sweep composed here, with its task_env checked now rather than on the cluster.

    Composition is most of a driver sweep's submission time (a few ms a job). Each distinct `task_env`
    entry is applied to the task once, not once per job: the driver applies it again to start the child.
    """
    import json

    from omegaconf import OmegaConf

    from ._compose import SweepComposer, plan_grid_sweep, task_config
    from ._task_env import apply_task_env, task_env_section

    key, task = request.options.task_env_key, request.task
    plan = plan_grid_sweep(loader, request.config_name, overrides)
    sweep_dir = str(OmegaConf.select(plan.primary, "hydra.sweep.dir"))
    composer = SweepComposer(loader, plan.primary, plan.parsed)
    checked: set[str] = set()
    children = []
    for num, job_overrides in enumerate(plan.job_overrides):
        cfg = task_config(composer.compose(job_overrides, num))
        section = task_env_section(cfg, task.short_name, key)
        seen = json.dumps(section, sort_keys=True, default=repr) if section else ""
        if seen not in checked:
            apply_task_env(task, cfg, task_env_key=key)
            checked.add(seen)
        container = OmegaConf.to_container(cfg, resolve=True)
        children.append(PlannedChild(num, list(job_overrides), container))  # type: ignore[arg-type]
    return children, sweep_dir


def _sampling_sweep(loader: ConfigLoader, request: LaunchRequest, overrides: list[str]) -> tuple[DictConfig, str]:
    """The sweep's primary config (checked against the options) and its sweep directory."""
    from hydra.types import RunMode

    from ._hydra_compat import hydra_runtime
    from ._launcher import check_sweeper_compatible

    hydra = hydra_runtime(request.task.short_name, loader)
    cfg = hydra.compose_config(request.config_name, overrides, run_mode=RunMode.MULTIRUN)
    options = request.options
    if not options.wait:
        options = options.replace(wait=True)  # the cluster driver waits for its trials; the client need not
    check_sweeper_compatible(cfg, options, request.surface)
    return cfg, str(cfg.hydra.sweep.dir)


def _driver_run_name(short_name: str, token: str, given: str | None) -> str:
    if given:
        return f"{given}-driver"
    tail = f"-{token}-sweep"
    return _name_part(short_name)[: MAX_RUN_NAME - len(tail)].rstrip("-") + tail


# -- launching -------------------------------------------------------------------------------


def launch_on_cluster(
    loader: ConfigLoader, request: LaunchRequest, overrides: list[str], submit: Submission
) -> list[JobOutcome]:
    """Submit the whole sweep as one driver run; with `wait`, its jobs' outcomes in job order."""
    import flyte
    from omegaconf import OmegaConf

    from ._compose import needs_hydra_runtime
    from ._journal import Journal, app_overrides
    from ._report import come_back_later, sweep_started

    options, task = request.options, request.task
    for name, value in request.task_inputs.items():
        jsonable(value, f"The task input {name!r}")
    module, attribute = _task_location(task)
    sampling = needs_hydra_runtime(overrides)
    children: list[PlannedChild] = []
    config_dir, cfg = None, None
    if sampling:
        cfg, sweep_dir = _sampling_sweep(loader, request, overrides)
        sweeper_target = OmegaConf.select(cfg, "hydra.sweeper._target_")
        config_dir, files = _config_dir_in_bundle(request)
        submit.bundle.extra_files = tuple(files)
    else:
        children, sweep_dir = _grid_children(loader, request, overrides)
        sweeper_target = None
    plan = DriverPlan(
        sweep_id=submit.identity.sweep_id,
        task_module=module,
        task_name=attribute,
        config_param=submit.config_param,
        task_env_key=options.task_env_key,
        task_inputs=dict(request.task_inputs),
        max_parallel=options.max_parallel,
        fail_fast=options.fail_fast,
        jobs=children,
        config_dir=config_dir,
        config_name=request.config_name,
        overrides=list(overrides),
    )
    image = driver_image(task, sweeper_target)
    driver, bound_env = driver_task(task, image)
    name = _driver_run_name(task.short_name, submit.identity.token, submit.run_options.get("name"))
    run_options = dict(submit.run_options)
    run_options["name"] = name
    run_options["labels"] = {**(run_options.get("labels") or {}), SWEEP_LABEL: plan.sweep_id, DRIVER_LABEL: "cluster"}
    journal = Journal(sweep_dir)
    header = submit.identity.header(mode="remote", task=task.name)
    journal.sweep(
        surface=request.surface,
        config_name=request.config_name,
        overrides=app_overrides(overrides),
        driver="cluster",
        driver_run=name,
        **header,
    )
    sweep_started(plan.sweep_id, journal.path)
    pending = [JobOutcome(c.num, c.overrides, run_name=None) for c in children]
    journal.jobs(pending)
    runner = submit.bundle.apply(flyte.with_runcontext(mode="remote", **run_options))  # type: ignore[arg-type]
    run = runner.run(driver, plan=plan.to_json())
    del bound_env
    print(f"Flyte run submitted (sweep driver, {len(children) or 'sampled'} job(s)): {run.url}", flush=True)
    outcome = JobOutcome(0, app_overrides(overrides), phase=Phase.SUBMITTED, url=run.url, run_name=run.name)
    outcome.handle = outcome.result = run
    if request.after_submit is not None:
        request.after_submit([outcome])
    if not options.wait:
        come_back_later(journal.path.parent)
        return [outcome]
    expected = len(children) if cfg is None else _trials(cfg)
    return finish(run, journal, pending, style=options.progress, expected=expected)


def _trials(cfg: DictConfig) -> int:
    """How many trials a sampling sweeper means to run, if its config says (Optuna's, Nevergrad's budget)."""
    from omegaconf import OmegaConf

    for key in ("hydra.sweeper.n_trials", "hydra.sweeper.optim.budget"):
        value = OmegaConf.select(cfg, key, default=None)
        if isinstance(value, int):
            return value
    return 0


def finish(
    run: Any, journal: Journal, pending: Sequence[JobOutcome] = (), *, style: str = "auto", expected: int = 0
) -> list[JobOutcome]:
    """Follow the driver run's children until it ends; then every job's outcome, journaled and summarised as locally.

    While the driver runs, the progress view (`progress` live / lines / off) and the journal follow its
    child actions (`_driver_follow`), so `flyte hydra status` from anywhere shows which jobs are done.
    `pending` are the jobs planned on this side (a grid sweep's); jobs not among them (a sampling
    sweeper's trials) join as their children appear, `expected` of them if the sweeper says.
    """
    from ._driver_follow import ChildView, follow
    from ._report import Progress, summary, sweep_report

    progress = Progress(max(len(pending), expected), numbered=True, style=style)
    view = ChildView(pending, run.url, progress)
    try:
        follow(run, view, journal.jobs)
        result = driver_result(run)
        outcomes = outcomes_from(result, run.url)
        view.settle(outcomes)
    finally:
        progress.close()
    journal.jobs(outcomes)
    if result.sweeper_result is not None:
        _write_sweeper_result(journal.path.parent, result.sweeper_result)
    summary(outcomes, style=style)
    sweep_report(journal.path.parent, quiet=style == "off")
    return outcomes


def _write_sweeper_result(sweep_dir: Path, result: dict[str, Any]) -> None:
    """`optimization_results.yaml` in the local sweep directory, as the sweeper writes it in a local-driver sweep."""
    from omegaconf import OmegaConf

    OmegaConf.save(OmegaConf.create(result), sweep_dir / RESULTS_FILE)


def driver_result(run: Any) -> DriverResult:
    """The finished driver run's result; a driver that failed as a whole raises with its error."""
    from ._results import remote_error_detail

    phase = Phase.of(getattr(run.phase, "name", str(run.phase)))
    if phase != Phase.SUCCEEDED:
        raise RemoteRunError(phase.value, run.url, f"the sweep driver itself failed: {remote_error_detail(run)}")
    (text,) = run.outputs()
    return DriverResult.from_json(text)


def outcomes_from(result: DriverResult, url: str | None) -> list[JobOutcome]:
    """The driver's job records as the same `JobOutcome`s / `RunResult`s a local-driver sweep gives."""
    outcomes = []
    for record in result.jobs:
        phase = Phase.of(record.phase)
        job_url = record.url or url  # an app-driven job is a run of its own, with its own URL
        outcome = JobOutcome(
            record.num,
            record.overrides,
            phase=phase,
            url=job_url,
            run_name=record.action,
            started=record.started,
            finished=record.finished,
        )
        if phase == Phase.SUCCEEDED:
            outcome.result = RunResult(record.value, url=job_url, phase=phase, action=record.action)
        else:
            outcome.error = RemoteRunError(phase.value, job_url, record.error)
        outcomes.append(outcome)
    return outcomes


def driver_outcomes(run: Any) -> list[JobOutcome]:
    return outcomes_from(driver_result(run), run.url)
