"""A `@hydra.main` app written the way the docs show: init from config, then `flyte.run` the entry task."""

from __future__ import annotations

import flyte
import hydra
from omegaconf import DictConfig

from apps import tasks
from flyteplugins.hydra import apply_task_env


@hydra.main(version_base=None, config_path="conf", config_name="app")
def main(cfg: DictConfig) -> object:
    flyte.init_from_config()
    task = apply_task_env(getattr(tasks, cfg.get("task", "fails_on_two")), cfg)
    inputs = {"marker": cfg.marker} if "marker" in cfg else {}
    return flyte.run(task, cfg=cfg, **inputs)


if __name__ == "__main__":
    main()
