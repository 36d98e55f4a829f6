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
from typing import TYPE_CHECKING

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
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from hydra.core.utils import setup_globals

    setup_globals()
    config_dir = resolve_config_dir(config_path)
    return ConfigLoaderImpl(config_search_path=create_config_search_path(config_dir))


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
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    primary = loader.load_configuration(config_name=config_name, overrides=list(overrides), run_mode=RunMode.MULTIRUN)
    params = OmegaConf.select(primary, "hydra.sweeper.params", default=None) or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += OmegaConf.to_container(primary.hydra.overrides.task, resolve=False)  # type: ignore[operator]
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    (jobs,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return SweepPlan(primary=primary, job_overrides=jobs)


def compose_job(loader: ConfigLoader, primary: DictConfig, job_overrides: Sequence[str], num: int) -> DictConfig:
    """One job's full config (with its `hydra` node), numbered as Hydra numbers sweep jobs."""
    from omegaconf import open_dict

    cfg = loader.load_sweep_config(primary, list(job_overrides))
    with open_dict(cfg):
        cfg.hydra.job.id = str(num)
        cfg.hydra.job.num = num
    return cfg


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
