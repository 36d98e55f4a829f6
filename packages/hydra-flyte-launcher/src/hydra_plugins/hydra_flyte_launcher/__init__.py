"""`hydra/launcher=flyte` for `@hydra.main` apps; the work is done by `flyteplugins.hydra`."""
