"""The `flyte hydra` command group, the object the `flyte.plugins.cli.commands` entry point names.

`flyte` imports every CLI plugin to render `flyte --help`, so this module imports click and nothing
else; each subcommand, which needs Flyte, Hydra and the engine, is imported the first time it is asked for.
"""

from __future__ import annotations

import click

# `run` launches; the others come back to a sweep launched earlier (`_sweeps`).
_COMMANDS = ("run", "status", "wait", "results", "abort")


def _load(cmd_name: str) -> click.Command:
    if cmd_name == "run":
        from ._run import run

        return run
    from ._sweeps import COMMANDS

    return COMMANDS[cmd_name]


class _HydraGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        try:
            return _load(cmd_name)
        except Exception:
            if ctx.resilient_parsing:  # shell completion: offer nothing rather than a traceback
                return None
            raise


hydra = _HydraGroup(
    name="hydra",
    help="Compose a Hydra config for a Flyte task and run it (once, or once per job of a sweep); "
    "follow, collect or abort a sweep later with status, wait, results and abort.",
)
