"""How one composed config becomes one Flyte run of the entry task (SDK and CLI launches)."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ._errors import ConfigurationError
from ._flyte_compat import SweepCodeBundle

if TYPE_CHECKING:
    from omegaconf import DictConfig

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


class Submission:
    """The entry task, its fixed inputs and the launch options: everything a job adds is its config."""

    def __init__(self, task: Any, config_param: str, task_inputs: Mapping[str, Any], options: LaunchOptions) -> None:
        self.task = task
        self.config_param = config_param
        self.task_inputs = dict(task_inputs)
        self.mode = options.mode
        self.run_options = check_run_options(options.run_options)
        self.task_env_key = options.task_env_key
        self.sweep_id = secrets.token_hex(3)
        self.bundle = SweepCodeBundle()

    def run_name(self, num: int | None) -> str | None:
        """Run names unique within a sweep: a given `name` gets the job number appended, and local
        sweep jobs are named `<task>-<sweep id>-<job>` so their log lines say which job they belong to."""
        name = self.run_options.get("name")
        if num is None:
            return name
        if name:
            return f"{name}-{num}"
        return f"{self.task.short_name}-{self.sweep_id}-{num}" if self.mode == "local" else None

    def prepare(self, cfg: DictConfig, num: int | None = None) -> Prepared:
        """The entry task with its `task_env` applied, the config it will receive, and the run's name."""
        from ._compose import task_config
        from ._task_env import apply_task_env

        cfg = task_config(cfg)
        entry = apply_task_env(self.task, cfg, task_env_key=self.task_env_key)
        return Prepared(entry, cfg, self.run_name(num))

    def start(self, prepared: Prepared) -> Any:
        import flyte

        options = dict(self.run_options)
        if prepared.name:
            options["name"] = prepared.name
        runner = flyte.with_runcontext(mode=self.mode, **options)  # type: ignore[arg-type]
        if self.mode == "remote":
            runner = self.bundle.apply(runner)
        return runner.run(prepared.entry, **{self.config_param: prepared.cfg}, **self.task_inputs)

    def describe(self, prepared: Prepared) -> dict[str, Any]:
        from ._task_env import lower_task_env, task_env_section

        section = task_env_section(prepared.cfg, self.task.short_name, self.task_env_key)
        where = f"{self.task_env_key}.{self.task.short_name}"
        lowered = _lowered_for_display(lower_task_env(self.task, section, where)) if section else "none"
        return {"task": self.task.name, "mode": self.mode, "task_env": lowered}

    def __call__(self, cfg: DictConfig) -> Any:
        """Hydra task function for the sweeper-driven path (Hydra has already removed the `hydra` node)."""
        from hydra.core.hydra_config import HydraConfig

        return self.start(self.prepare(cfg, HydraConfig.get().job.get("num")))
