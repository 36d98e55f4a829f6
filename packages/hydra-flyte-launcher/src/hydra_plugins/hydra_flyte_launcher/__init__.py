"""`hydra/launcher=flyte` for `@hydra.main` apps; the work is done by `flyteplugins.hydra`."""

__version__ = "3.0.0.dev0"
