"""`flyte hydra run`: the Flyte CLI surface of flyteplugins-hydra (the command lands in its own change)."""
