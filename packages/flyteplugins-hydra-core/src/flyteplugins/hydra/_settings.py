"""Launch settings shared by every surface, validated once with each surface's own knob names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._errors import ConfigurationError
from ._mode import Mode, check_mode

Surface = Literal["launcher", "sdk", "cli"]


def knob(name: str, surface: Surface) -> str:
    """How a user spells the setting `name` on `surface` (for error messages)."""
    if surface == "launcher":
        return f"hydra.launcher.{name}"
    if surface == "cli":
        return "--" + name.replace("_", "-")
    return name


def _positive_or_none(value: object, name: str, surface: Surface, none_means: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"{knob(name, surface)} must be a positive number or null ({none_means}), got {value!r}."
        )
    return value


@dataclass(frozen=True)
class LaunchSettings:
    """Everything that shapes how jobs are run, independent of how they were composed."""

    mode: Mode = "remote"
    wait: bool = True
    wait_max_workers: int | None = 32
    max_parallel: int | None = None
    fail_fast: bool = False
    dry_run: bool = False
    rerun_failed: str | None = None

    @classmethod
    def checked(
        cls,
        *,
        surface: Surface,
        mode: object = "remote",
        wait: bool = True,
        wait_max_workers: object = 32,
        max_parallel: object = None,
        fail_fast: bool = False,
        dry_run: bool = False,
        rerun_failed: object = None,
    ) -> LaunchSettings:
        """Validate user input before anything is composed; errors name the knob as the user wrote it."""
        settings = cls(
            mode=check_mode(mode, knob=knob("mode", surface)),
            wait=bool(wait),
            wait_max_workers=_positive_or_none(wait_max_workers, "wait_max_workers", surface, "one thread per run"),
            max_parallel=_positive_or_none(max_parallel, "max_parallel", surface, "no cap"),
            fail_fast=bool(fail_fast),
            dry_run=bool(dry_run),
            rerun_failed=None if rerun_failed in (None, "") else str(rerun_failed),
        )
        if settings.max_parallel is not None and not settings.wait and settings.mode == "remote":
            raise ConfigurationError(
                f"{knob('max_parallel', surface)} needs waiting: a new run starts only when one finishes. "
                f"Drop {knob('wait', surface)}=false, or drop {knob('max_parallel', surface)}."
            )
        return settings

    @property
    def parallel(self) -> int | None:
        """Runs in flight at once: unlimited remote, one at a time locally, unless capped."""
        if self.max_parallel is not None:
            return self.max_parallel
        return 1 if self.mode == "local" else None
