"""Stop a plain `@hydra.main` run from a callback, reporting the way Hydra reports its own errors."""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn


def stop_run(error: BaseException) -> NoReturn:
    """Exit with `error` as one `Error: ...` line, or its whole traceback under `HYDRA_FULL_ERROR=1`.

    Hydra turns an exception raised in a callback into a warning and runs the job anyway, so a
    callback that must stop the run raises `SystemExit`; this keeps Hydra's convention that the
    traceback is there for whoever sets `HYDRA_FULL_ERROR=1`.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
        raise SystemExit(1) from error
    raise SystemExit(f"Error: {error}") from error
