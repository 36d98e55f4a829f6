"""The walkthrough app: a two-step training pipeline whose "training" is a deterministic fake.

Run a local grid sweep through Hydra's launcher plugin:

    python train.py --multirun hydra/launcher=flyte hydra.launcher.mode=local \
        optimizer.lr=0.001,0.01,0.1 model=resnet,vit
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flyte
import flyte.io
import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

from flyteplugins.hydra import apply_task_env

env = flyte.TaskEnvironment(name="training")


@dataclass
class TrainingConf:
    epochs: int = 30
    batch_size: int = 64


@dataclass
class OptimizerConf:
    name: str = "adam"
    lr: float = 0.001


@dataclass
class ModelConf:
    name: str = "resnet"
    depth: int = 50


@dataclass
class DataConf:
    path: str = "s3://my-bucket/imagenet"
    dataset: str = "imagenet"


@dataclass
class StructuredTrainingConf:
    """The same app as `conf/training.yaml`, as a structured config with no YAML at all."""

    data: DataConf = field(default_factory=DataConf)
    optimizer: OptimizerConf = field(default_factory=OptimizerConf)
    model: ModelConf = field(default_factory=ModelConf)
    training: TrainingConf = field(default_factory=TrainingConf)


# Registered at import time so `flyte hydra run` and shell completion see it too.
ConfigStore.instance().store(name="structured_training", node=StructuredTrainingConf)


def fake_validation_loss(cfg: DictConfig, num_samples: int) -> float:
    """A deterministic stand-in for training: best near lr=5e-3, better with more epochs and a deeper model."""
    lr_term = (math.log10(float(cfg.optimizer.lr)) + 2.3) ** 2
    epochs_term = 1.0 / (1 + int(cfg.training.epochs))
    model_term = 0.05 if cfg.model.name == "vit" else 0.1
    batch_term = abs(int(cfg.training.batch_size) - 64) / 1000
    return round(lr_term + epochs_term + model_term + batch_term + num_samples * 1e-6, 6)


@env.task
async def preprocess(cfg: DictConfig) -> flyte.io.Dir:
    """Write a tiny, deterministic "dataset" and hand it on as a directory."""
    folder = Path(tempfile.mkdtemp(prefix="preprocess-"))
    (folder / "manifest.txt").write_text(f"{cfg.data.dataset}\n" + "\n".join(str(i) for i in range(10)))
    return await flyte.io.Dir.from_local(str(folder))


@env.task
async def train_model(cfg: DictConfig, data: flyte.io.Dir) -> tuple[flyte.io.Dir, float]:
    """Pretend to train; returns the "model" directory and its validation loss."""
    local = Path(await data.download())
    samples = len((local / "manifest.txt").read_text().splitlines()) - 1
    return data, fake_validation_loss(cfg, samples)


@env.task
async def pipeline(cfg: DictConfig, dataset: str) -> float:
    """The entry task every surface launches: preprocess, then train the child with its own task_env."""
    data = await preprocess(cfg)
    train_task = apply_task_env(train_model, cfg)
    _, val_loss = await train_task(cfg, data)
    return val_loss


@hydra.main(version_base=None, config_path="conf", config_name="training")
def main(cfg: DictConfig) -> Any:
    flyte.init_from_config()
    entry_task = apply_task_env(pipeline, cfg)
    return flyte.run(entry_task, cfg=cfg, dataset=cfg.data.dataset)


if __name__ == "__main__":
    main()
