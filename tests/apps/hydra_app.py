"""A `@hydra.main` app written the way the docs show: init from config, then `flyte.run` the entry task."""

from __future__ import annotations

import importlib

import flyte
import hydra
from omegaconf import DictConfig

from apps import tasks
from flyteplugins.hydra import apply_task_env


@hydra.main(version_base=None, config_path="conf", config_name="app")
def main(cfg: DictConfig) -> object:
    flyte.init_from_config()
    module, _, name = str(cfg.get("task", "fails_on_two")).rpartition(".")  # "exits.exits_on_two": apps/exits.py
    task = apply_task_env(getattr(importlib.import_module(f"apps.{module}") if module else tasks, name), cfg)
    inputs = {"marker": cfg.marker} if "marker" in cfg else {}
    return flyte.run(task, cfg=cfg, **inputs)


if __name__ == "__main__":
    main()
