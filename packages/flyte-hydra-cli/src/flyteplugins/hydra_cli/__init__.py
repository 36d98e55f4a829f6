"""`flyte hydra run`: compose Hydra configs for a Flyte task from the `flyte` CLI.

Installed as a `flyte.plugins.cli.commands` entry point named `hydra`; `flyte` loads it at startup,
so this package imports only click until the command is used.
"""

from ._group import hydra

__all__ = ["hydra"]
