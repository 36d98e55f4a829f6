"""A `@hydra.main` app for `hydra.launcher.driver=cluster`: it runs one of `driver_tasks` per job, as the docs show.

`+task=<name>` picks the task (default `square`), `+inputs={...}` its other inputs.
"""

from __future__ import annotations

import flyte
import hydra
from omegaconf import DictConfig, OmegaConf

from apps import driver_tasks
from flyteplugins.hydra import apply_task_env


@hydra.main(version_base=None, config_path="conf", config_name="app")
def main(cfg: DictConfig) -> object:
    flyte.init_from_config()
    task = apply_task_env(getattr(driver_tasks, str(cfg.get("task", "square"))), cfg)
    inputs = OmegaConf.to_container(cfg.inputs) if "inputs" in cfg else {}
    return flyte.run(task, cfg=cfg, **inputs)


if __name__ == "__main__":
    main()
