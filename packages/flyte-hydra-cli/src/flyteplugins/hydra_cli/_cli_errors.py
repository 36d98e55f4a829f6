"""The one place where the engine's errors become click's: one line, or the traceback with `flyte -v`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click


def verbose(ctx: click.Context) -> bool:
    """`flyte -v ...` asks for tracebacks instead of one-line errors (`--debug` keeps `flyte run`'s meaning)."""
    return bool(ctx.find_root().params.get("verbose"))


@contextlib.contextmanager
def as_cli_error(ctx: click.Context, *, usage: bool = False) -> Iterator[None]:
    """Engine, Hydra and OmegaConf errors as click errors; `usage` makes a bad setting a usage error (exit 2)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from flyteplugins.hydra.engine import ConfigurationError, FlyteHydraError

    try:
        yield
    except (FlyteHydraError, HydraException, OmegaConfBaseException) as e:
        if verbose(ctx):
            raise
        if usage and isinstance(e, ConfigurationError):
            raise click.UsageError(str(e), ctx) from e
        raise click.ClickException(str(e)) from e
