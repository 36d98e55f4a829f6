"""How one composed config becomes one Flyte run of the entry task (SDK and CLI launches)."""

from __future__ import annotations

import inspect
import json
import tempfile
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ._errors import ConfigurationError
from ._flyte_compat import SweepCodeBundle, run_local_on_own_loop
from ._identity import SweepIdentity
from ._job_outputs import JobOutputs

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ._compose import ComposedJob
    from ._options import LaunchOptions


def check_run_options(run_options: Mapping[str, Any]) -> dict[str, Any]:
    """Only what `flyte.with_runcontext` takes, and never `mode` (that is a launch option of its own)."""
    import flyte

    options = dict(run_options)
    accepted = set(inspect.signature(flyte.with_runcontext).parameters) - {"mode"}
    unknown = sorted(k for k in options if k not in accepted or k.startswith("_"))
    if "mode" in options:
        raise ConfigurationError("run_options must not contain 'mode'; pass mode='local' or mode='remote' instead.")
    if unknown:
        raise ConfigurationError(
            f"Unknown run_options {', '.join(unknown)}: they are passed to flyte.with_runcontext, which accepts "
            f"{', '.join(sorted(k for k in accepted if not k.startswith('_')))}."
        )
    return options


def _lowered_for_display(kwargs: Mapping[str, Any]) -> dict[str, str]:
    shown = {}
    for key, value in kwargs.items():
        if key == "pod_template":
            primary = next((c for c in value.pod_spec.containers if c.name == value.primary_container_name), None)
            shown["image"] = f"{getattr(primary, 'image', None)} (container {value.primary_container_name!r})"
        else:
            shown[key] = repr(value)
    return shown


class Prepared(NamedTuple):
    entry: Any
    cfg: DictConfig
    name: str | None
    num: int | None = None
    overrides: Sequence[str] = ()
    output_dir: str | None = None
    spec_key: str | None = None


def _spec_key(section: Mapping[str, Any] | None) -> str:
    """Jobs whose entry task gets the same `task_env` entry run the same task spec."""
    return json.dumps(section, sort_keys=True, default=repr) if section else ""


class Submission:
    """The entry task, its fixed inputs and the launch options: everything a job adds is its config."""

    def __init__(self, task: Any, config_param: str, task_inputs: Mapping[str, Any], options: LaunchOptions) -> None:
        self.task = task
        self.config_param = config_param
        self.task_inputs = dict(task_inputs)
        self.mode = options.mode
        self.run_options = check_run_options(options.run_options)
        self.task_env_key = options.task_env_key
        self.identity = SweepIdentity.new()
        self.bundle = SweepCodeBundle()
        self.outputs = JobOutputs(enabled=not options.dry_run)
        self._checked_task_envs: set[str] = set()
        self._local_data: str | None = None
        self._local_data_lock = threading.Lock()

    def run_name(self, num: int | None) -> str | None:
        """Run names unique in a sweep, chosen here so a run can be found even if its submission is never answered."""
        return self.identity.run_name(self.task.short_name, num, self.run_options.get("name"))

    def check(self, task_cfg: DictConfig) -> None:
        """Raise now what `prepare` would raise for this config's `task_env` (each distinct entry once)."""
        from ._task_env import lower_task_env, task_env_section

        section = task_env_section(task_cfg, self.task.short_name, self.task_env_key)
        if not section:
            return
        seen = repr(sorted(section.items()))
        if seen not in self._checked_task_envs:
            lower_task_env(self.task, section, f"{self.task_env_key}.{self.task.short_name}")
            self._checked_task_envs.add(seen)

    def prepare(self, cfg: DictConfig | ComposedJob, num: int | None = None, overrides: Sequence[str] = ()) -> Prepared:
        """The entry task with its `task_env` applied, the config it will receive, and the run's name.

        The job becomes Hydra's current job first: its output folder is laid out from its whole config.
        """
        from ._compose import as_job
        from ._task_env import apply_task_env_section, task_env_section

        job = as_job(cfg)
        if job is not None:
            output_dir = self.outputs.write(job.activate(), sweep=num is not None, job=job)
            self.outputs.snapshot(output_dir, job)  # as composed, before its `${hydra:...}` are fixed
            cfg = job.fix_hydra_values()
        else:
            output_dir = None
        section = task_env_section(cfg, self.task.short_name, self.task_env_key)
        entry = apply_task_env_section(self.task, section, f"{self.task_env_key}.{self.task.short_name}")
        spec_key = _spec_key(section) if entry is not self.task else ""
        return Prepared(entry, cfg, self.run_name(num), num, tuple(overrides), output_dir, spec_key)

    def local_data_folder(self) -> str:
        """One temporary folder for the data of all this launch's local runs (their offloaded outputs).

        Without a `raw_data_path`, flyte makes a new temporary folder for every local run and leaves
        it behind: a 10,000-job sweep left 10,000 folders in the temporary directory, which made every
        later temporary file there slower to create. `run_options={"raw_data_path": ...}` still wins.
        """
        with self._local_data_lock:
            if self._local_data is None:
                self._local_data = tempfile.mkdtemp(prefix="flyte-hydra-local-")
            return self._local_data

    def start(self, prepared: Prepared) -> Any:
        import flyte

        options = self.identity.run_options(
            self.run_options, num=prepared.num, overrides=prepared.overrides, name=prepared.name
        )
        if self.mode == "local" and "raw_data_path" not in options:
            options["raw_data_path"] = self.local_data_folder()
        runner = flyte.with_runcontext(mode=self.mode, **options)  # type: ignore[arg-type]
        inputs = {self.config_param: prepared.cfg, **self.task_inputs}
        if self.mode == "local":
            run = run_local_on_own_loop(runner, prepared.entry, **inputs)
        else:
            run = self.bundle.apply(runner, prepared.spec_key).run(prepared.entry, **inputs)
        self.outputs.record_run(prepared.output_dir, run)
        return run

    def describe(self, prepared: Prepared) -> dict[str, Any]:
        from ._task_env import lower_task_env, task_env_section

        section = task_env_section(prepared.cfg, self.task.short_name, self.task_env_key)
        where = f"{self.task_env_key}.{self.task.short_name}"
        lowered = _lowered_for_display(lower_task_env(self.task, section, where)) if section else "none"
        return {"task": self.task.name, "mode": self.mode, "task_env": lowered}

    def __call__(self, cfg: DictConfig) -> Any:
        """Hydra task function for the sweeper-driven path (Hydra has already removed the `hydra` node)."""
        from hydra.core.hydra_config import HydraConfig

        hydra_cfg = HydraConfig.get()
        prepared = self.prepare(cfg, hydra_cfg.job.get("num"), list(hydra_cfg.overrides.task))
        return self.start(prepared._replace(output_dir=hydra_cfg.runtime.output_dir))
