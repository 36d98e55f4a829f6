"""Shell completion of override values, answered by Hydra's own completion engine.

Hydra completes config keys (`optimizer.` -> `optimizer.lr=`), config group options
(`model=` -> `model=resnet`) and Hydra's own groups (`hydra/launcher=` -> its launchers); under
`--multirun` we add the sweep functions of Hydra's override grammar (`lr=` -> `lr=interval(`).
Completion runs inside the user's shell, so every failure here yields no suggestions, never an error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

log = logging.getLogger("flyteplugins.hydra_cli")

# Functions of Hydra's override grammar that make or reshape a sweep (casts are left out).
SWEEP_FUNCTIONS = ("choice", "glob", "interval", "range", "shuffle", "sort")


def _sweep_function_suggestions(incomplete: str) -> list[str]:
    key, sep, value = incomplete.partition("=")
    if not sep or not key.lstrip("+~") or "(" in value or "," in value:
        return []
    return [f"{key}={name}(" for name in SWEEP_FUNCTIONS if name.startswith(value)]


def override_suggestions(
    *,
    config_path: str | os.PathLike[str] | None,
    config_name: str | None,
    multirun: bool,
    previous: Sequence[str],
    incomplete: str,
) -> list[str]:
    """What Hydra would complete for `incomplete`, given the overrides already on the line."""
    try:
        from flyteplugins.hydra.engine import override_completions

        words = ["--multirun", *previous] if multirun else list(previous)
        suggestions = override_completions(config_path, config_name, words, incomplete)
    except Exception:
        log.debug("Hydra could not complete %r", incomplete, exc_info=True)
        return []
    if multirun:
        suggestions += _sweep_function_suggestions(incomplete)
    return suggestions
