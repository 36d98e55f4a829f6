"""Hydra composition and sweep expansion for the SDK and CLI surfaces.

The `@hydra.main` path composes through Hydra's own runtime; these helpers give the SDK and CLI
exactly the same configs without a task function, output directories or per-job log setup:
the primary config is composed once and each job once more, through Hydra's `ConfigLoaderImpl`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader
    from omegaconf import DictConfig


def resolve_config_dir(config_path: str | os.PathLike[str] | None) -> str | None:
    """Absolute config directory: relative paths are taken from the current directory."""
    if config_path is None:
        return None
    path = Path(config_path).expanduser()
    resolved = path if path.is_absolute() else Path.cwd() / path
    if not resolved.is_dir():
        raise ConfigurationError(
            f"config_path '{config_path}' is not a directory (looked for {resolved}). Relative paths are taken "
            "from the current directory: run from your project folder or pass an absolute path; use None for "
            "configs registered only in the ConfigStore."
        )
    return str(resolved.resolve())


def needs_hydra_runtime(overrides: Sequence[str]) -> bool:
    """True when an override selects a `hydra/...` group (sweeper, launcher, callbacks need plugin discovery)."""
    return any(o.lstrip("+~").startswith("hydra/") for o in overrides)


def make_config_loader(config_path: str | os.PathLike[str] | None) -> ConfigLoader:
    from hydra.core.utils import setup_globals

    from ._hydra_compat import make_loader

    setup_globals()
    return make_loader(resolve_config_dir(config_path))


def check_primary_config(
    loader: ConfigLoader, config_name: str | None, config_path: str | os.PathLike[str] | None, *, knob: str
) -> None:
    """A primary config that is not there is an error before anything is composed or run."""
    if config_name is None or loader.repository.config_exists(config_name):  # type: ignore[attr-defined]
        return
    if config_path is None:
        where = "in Hydra's ConfigStore (no config path was given, so no folder was searched)"
    else:
        where = f"in {resolve_config_dir(config_path)}"
    default = f" ('{config_name}' is what is composed when {knob} is not given)" if config_name == "config" else ""
    raise ConfigurationError(
        f"The primary config '{config_name}' was not found {where}{default}. Set {knob} to the name of a "
        "config there: a .yaml file without its extension, or a ConfigStore name."
    )


def compose_single(loader: ConfigLoader, config_name: str | None, overrides: Sequence[str]) -> DictConfig:
    """The config of a single run (sweep syntax is rejected by Hydra here, as with `python app.py`)."""
    from hydra.types import RunMode

    return loader.load_configuration(config_name=config_name, overrides=list(overrides), run_mode=RunMode.RUN)


@dataclass(frozen=True)
class SweepPlan:
    """The primary (multirun) config and each job's overrides, in BasicSweeper order."""

    primary: DictConfig
    job_overrides: list[list[str]]


def plan_grid_sweep(loader: ConfigLoader, config_name: str | None, overrides: Sequence[str]) -> SweepPlan:
    """Expand comma/range/glob sweeps exactly as Hydra's BasicSweeper does."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from ._hydra_compat import split_grid

    primary = loader.load_configuration(config_name=config_name, overrides=list(overrides), run_mode=RunMode.MULTIRUN)
    params = OmegaConf.select(primary, "hydra.sweeper.params", default=None) or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += OmegaConf.to_container(primary.hydra.overrides.task, resolve=False)  # type: ignore[operator]
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    return SweepPlan(primary=primary, job_overrides=split_grid(parsed))


def number_job(cfg: DictConfig, num: int) -> DictConfig:
    """Number a job's config as Hydra numbers sweep jobs."""
    from omegaconf import open_dict

    with open_dict(cfg):
        cfg.hydra.job.id = str(num)
        cfg.hydra.job.num = num
    return cfg


class SweepComposer:
    """Composes each job of one sweep at most once, and most of them without Hydra's defaults machinery.

    Composing through Hydra costs tens of milliseconds a job. Grid sweeps mostly vary plain values
    (`optimizer.lr=0.01`), and for those Hydra's result is the first job's config with those keys
    set again: `OmegaConf.update(..., merge=True)` is exactly what Hydra applies for such an
    override, after the same defaults list. So the first job is composed by Hydra and kept as a
    template; a later job whose differing overrides are all plain value changes is the template
    with those values set and its `hydra.overrides.task` / `hydra.job.override_dirname` rebuilt as
    Hydra builds them. Anything else (group selections, `+`, `++`, `~`, `hydra.*`, dict or list
    values, a key nested under another) and any error goes through Hydra itself.
    """

    def __init__(self, loader: ConfigLoader, primary: DictConfig) -> None:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.loader = loader
        self.primary = primary
        self._parser = OverridesParser.create(config_loader=loader)
        self._parsed: dict[str, Any] = {}
        self._template: DictConfig | None = None
        self._template_lines: list[str] = []
        self._template_keys: list[str] = []
        self._is_group: dict[str, bool] = {}

    def _parse(self, line: str) -> Any:
        override = self._parsed.get(line)
        if override is None:
            override = self._parsed[line] = self._parser.parse_override(line)
        return override

    def _is_plain_value(self, override: Any) -> bool:
        from hydra.core.override_parser.types import OverrideType

        key = override.key_or_group
        return (
            override.type == OverrideType.CHANGE
            and override.package is None
            and not override.is_hydra_override()
            and not override.is_sweep_override()
            and not isinstance(override.value(), (dict, list))
            and ("." in key or not self._group(key))
        )

    def _group(self, key: str) -> bool:
        """Whether `key` names a config group; asked of the repository once per key, not once per job."""
        if key not in self._is_group:
            self._is_group[key] = self.loader.repository.group_exists(key)  # type: ignore[attr-defined]
        return self._is_group[key]

    def _independent(self, parsed: list[Any]) -> bool:
        keys = [o.key_or_group for o in parsed]
        return len(set(keys)) == len(keys) and not any(a != b and b.startswith(a + ".") for a in keys for b in keys)

    def _from_template(self, lines: list[str], parsed: list[Any]) -> DictConfig | None:
        import copy

        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        from ._hydra_compat import overrides_dirname

        template = self._template
        if template is None or len(lines) != len(self._template_lines):
            return None
        changed = [o for line, old, o in zip(lines, self._template_lines, parsed) if line != old]
        if self._template_keys != [o.key_or_group for o in parsed]:
            return None
        if not all(self._is_plain_value(o) for o in changed):
            return None
        cfg = copy.deepcopy(template)
        try:
            for override in changed:
                OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
        except OmegaConfBaseException:
            return None
        naming = cfg.hydra.job.config.override_dirname
        cfg.hydra.overrides.task = lines
        cfg.hydra.job.override_dirname = overrides_dirname(
            parsed, kv_sep=naming.kv_sep, item_sep=naming.item_sep, exclude_keys=naming.exclude_keys
        )
        OmegaConf.copy_cache(from_config=self.primary, to_config=cfg)
        return cfg

    def compose(self, job_overrides: Sequence[str], num: int | None) -> DictConfig:
        """The job's full config; numbered unless `num` is None (Hydra's own validation composes unnumbered)."""
        import copy

        lines = list(job_overrides)
        parsed = [self._parse(line) for line in lines]
        cfg = self._from_template(lines, parsed)
        if cfg is None:
            cfg = self.loader.load_sweep_config(self.primary, lines)
            if self._template is None and self._independent(parsed):
                self._template, self._template_lines = copy.deepcopy(cfg), lines
                self._template_keys = [o.key_or_group for o in parsed]
        return cfg if num is None else number_job(cfg, num)


class ComposingLoader:
    """Hydra's config loader with sweep jobs composed through a `SweepComposer`.

    Hydra's BasicSweeper composes every job once to validate a batch and then hands the same
    overrides to the launcher, which composes them again. The launcher installs this wrapper in
    the `HydraContext` it shares with the sweeper, so both compositions take the fast path.
    Everything else is the wrapped loader's.
    """

    def __init__(self, inner: ConfigLoader) -> None:
        self.inner = inner
        self._composers: dict[int, tuple[DictConfig, SweepComposer]] = {}

    @classmethod
    def wrap(cls, loader: ConfigLoader) -> ComposingLoader:
        return loader if isinstance(loader, ComposingLoader) else cls(loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def composer(self, primary: DictConfig) -> SweepComposer:
        known = self._composers.get(id(primary))
        if known is None or known[0] is not primary:
            known = self._composers[id(primary)] = (primary, SweepComposer(self.inner, primary))
        return known[1]

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        return self.composer(master_config).compose(sweep_overrides, None)


def task_config(cfg: DictConfig) -> DictConfig:
    """The config a task receives: the composed tree without Hydra's own `hydra` node.

    Hydra's own runtime is told about the job first, so `${hydra:...}` interpolations resolve in-process.
    """
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict, read_write

    if "hydra" in cfg:
        HydraConfig.instance().set_config(cfg)
    with read_write(cfg), open_dict(cfg):
        if "hydra" in cfg:
            del cfg["hydra"]
    return cfg
