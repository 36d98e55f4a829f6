"""The `flyte hydra` command group, the object the `flyte.plugins.cli.commands` entry point names.

`flyte` imports every CLI plugin to render `flyte --help`, so this module imports click and nothing
else; `run`, which needs Flyte, Hydra and the engine, is imported the first time it is asked for.
"""

from __future__ import annotations

import click


class _HydraGroup(click.Group):
    """A group whose only subcommand, `run`, is imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["run"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name != "run":
            return None
        try:
            from ._run import run
        except Exception:
            if ctx.resilient_parsing:  # shell completion: offer nothing rather than a traceback
                return None
            raise
        return run


hydra = _HydraGroup(
    name="hydra",
    help="Compose a Hydra config for a Flyte task and run it: once, or once per job of a sweep.",
)
