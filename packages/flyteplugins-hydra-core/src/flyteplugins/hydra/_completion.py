"""Hydra's own override completion for a config directory, as `python app.py --multirun ...<TAB>` offers it."""

from __future__ import annotations

import os
from collections.abc import Sequence


def override_completions(
    config_path: str | os.PathLike[str] | None, config_name: str | None, words: Sequence[str], incomplete: str
) -> list[str]:
    """What Hydra completes for `incomplete` after `words` (which may start with `--multirun`)."""
    from ._compose import make_config_loader
    from ._hydra_compat import completion_query

    # A trailing space (empty `incomplete`) tells Hydra a new word starts at the cursor.
    return completion_query(make_config_loader(config_path), config_name, " ".join([*words, incomplete]))
