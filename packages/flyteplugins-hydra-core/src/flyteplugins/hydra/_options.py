"""The launch options, defined once: name, default, validation, and how each surface spells them.

`LaunchOptions` is the single definition. Its fields carry an `OptionSpec` in their metadata,
which the launcher's config node (`launcher_config_class`), the CLI's click options and the SDK's
keyword arguments are built from or checked against, so an option cannot exist on one surface
only. A surface builds one `LaunchOptions` with `LaunchOptions.parse` and hands it on whole.

This module is imported while Hydra scans plugins and while the flyte CLI loads: standard library only.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import ConfigurationError

Surface = Literal["launcher", "sdk", "cli"]
SURFACES: tuple[Surface, ...] = ("launcher", "sdk", "cli")
MODES = ("local", "remote")
PROGRESS = ("auto", "lines", "off")
DRIVERS = ("local", "cluster")


@dataclass(frozen=True)
class OptionSpec:
    """What a launch option is, beyond its name and default.

    `kind` says how a surface reads it (`choice`, `flag`, `count`, `path`, `text`, `mapping`);
    `sweep_only` options make sense for a sweep only and are refused for a single run;
    `surfaces` are those that spell the option themselves (the launcher's app calls
    `flyte.with_runcontext` itself, so it takes no `run_options`).
    """

    help: str
    kind: Literal["choice", "flag", "count", "path", "text", "mapping"]
    check: Callable[[Any, str], Any] | None = None  # a `choice` option's check is made from its choices
    choices: tuple[str, ...] = ()
    none_means: str = ""
    sweep_only: bool = False
    metavar: str = ""
    surfaces: tuple[Surface, ...] = SURFACES

    def __post_init__(self) -> None:
        if self.check is None:
            if self.kind != "choice" or not self.choices:
                raise TypeError("an OptionSpec needs a check unless it is a choice with its choices")
            object.__setattr__(self, "check", _choice(self.choices))


def knob(name: str, surface: Surface) -> str:
    """How a user spells the option `name` on `surface`, for messages."""
    if surface == "launcher":
        return f"hydra.launcher.{name}"
    if surface == "cli":
        return "--" + name.replace("_", "-")
    return name


def _choice(choices: tuple[str, ...]) -> Callable[[Any, str], Any]:
    quoted = [repr(c) for c in choices]
    spelled_choices = f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def check(value: Any, spelled: str) -> str:
        if value not in choices:
            raise ConfigurationError(
                f"{spelled} must be {spelled_choices}, got {value!r}. Pick one of: {', '.join(choices)}."
            )
        return value

    return check


def _flag(value: Any, spelled: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{spelled} must be true or false, got {value!r}.")
    return value


def _count(none_means: str) -> Callable[[Any, str], Any]:
    def check(value: Any, spelled: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"{spelled} must be a positive number or null ({none_means}), got {value!r}.")
        return value

    return check


def _path(value: Any, spelled: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigurationError(f"{spelled} must be a directory path, got {value!r}.")
    return os.fspath(value)


def _text(value: Any, spelled: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{spelled} must be a non-empty string, got {value!r}.")
    return value


def _mapping(value: Any, spelled: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{spelled} must be a mapping of flyte.with_runcontext arguments, got {value!r}.")
    return dict(value)


def _option(default: Any, spec: OptionSpec) -> Any:
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"option": spec})
    return field(default=default, metadata={"option": spec})


@dataclass(frozen=True)
class LaunchOptions:
    """How jobs are run, whatever composed them: the same values on every surface."""

    mode: str = _option(
        "remote",
        OptionSpec(
            help="Where jobs run: `remote` on the configured Flyte cluster, `local` in this process.",
            kind="choice",
            choices=MODES,
        ),
    )
    wait: bool = _option(
        True,
        OptionSpec(
            help="Wait for remote runs and hand back their outputs; false returns once every run is submitted.",
            kind="flag",
            check=_flag,
        ),
    )
    wait_max_workers: int | None = _option(
        32,
        OptionSpec(
            help="Threads that wait for remote runs at once; null means one per run.",
            kind="count",
            none_means="one thread per run",
            check=_count("one thread per run"),
            metavar="N",
        ),
    )
    max_parallel: int | None = _option(
        None,
        OptionSpec(
            help="Most runs of a sweep in flight at once; the next starts as one finishes "
            "(default: all at once remotely, one at a time locally).",
            kind="count",
            none_means="no cap",
            check=_count("no cap"),
            sweep_only=True,
            metavar="N",
        ),
    )
    fail_fast: bool = _option(
        False,
        OptionSpec(
            help="Start no more jobs of a sweep once one has failed.", kind="flag", check=_flag, sweep_only=True
        ),
    )
    dry_run: bool = _option(
        False,
        OptionSpec(
            help="Compose every job and print what would run, without running anything.", kind="flag", check=_flag
        ),
    )
    rerun_failed: str | None = _option(
        None,
        OptionSpec(
            help="The sweep directory of an earlier sweep: run again only its jobs not recorded as succeeded.",
            kind="path",
            check=_path,
            sweep_only=True,
            metavar="SWEEP_DIR",
        ),
    )
    task_env_key: str = _option(
        "task_env",
        OptionSpec(
            help="Config key holding per-task Flyte settings (resources, image, ...).",
            kind="text",
            check=_text,
            metavar="KEY",
        ),
    )
    progress: str = _option(
        "auto",
        OptionSpec(
            help="Progress output: `auto` (live on a terminal, plain lines otherwise), `lines`, or `off`.",
            kind="choice",
            choices=PROGRESS,
        ),
    )
    driver: str = _option(
        "local",
        OptionSpec(
            help="Where the sweep loop runs: `local` in this process, `cluster` as one Flyte run whose jobs are "
            "its child actions (needs mode=remote).",
            kind="choice",
            choices=DRIVERS,
            sweep_only=True,
        ),
    )
    run_options: Mapping[str, Any] = _option(
        {},
        OptionSpec(
            help="Arguments for flyte.with_runcontext (name, labels, env_vars, ...) for every run.",
            kind="mapping",
            check=_mapping,
            surfaces=("sdk", "cli"),
        ),
    )

    @classmethod
    def parse(cls, surface: Surface, values: Mapping[str, Any], *, multirun: bool = True) -> LaunchOptions:
        """Validate what a surface was given (unset names keep their defaults); errors use its spelling."""
        specs = option_specs()
        unknown = sorted(set(values) - set(specs))
        if unknown:
            raise ConfigurationError(f"Unknown launch option(s) {', '.join(knob(n, surface) for n in unknown)}.")
        checked = {}
        for name, value in values.items():
            spec = specs[name]
            if surface not in spec.surfaces:
                raise ConfigurationError(f"{knob(name, surface)} is not a launch option here.")
            checked[name] = spec.check(value, knob(name, surface))
        options = cls(**checked)
        options.check_combination(surface, multirun=multirun)
        return options

    def check_combination(self, surface: Surface, *, multirun: bool) -> None:
        """Options that contradict each other, or that a single run cannot use."""
        if not multirun:
            for name in sweep_only_options():
                if getattr(self, name) != DEFAULTS_BY_NAME[name]:
                    raise ConfigurationError(_single_run_refusal(name, surface))
        if self.driver == "cluster":
            self._check_cluster_driver(surface)
        elif self.max_parallel is not None and not self.wait and self.mode == "remote":
            raise ConfigurationError(
                f"{knob('max_parallel', surface)} needs waiting: a new run starts only when one finishes. "
                f"Drop {knob('wait', surface)}=false, or drop {knob('max_parallel', surface)}."
            )

    def _check_cluster_driver(self, surface: Surface) -> None:
        """A sweep driven on the cluster needs one, and cannot replay a journal it never wrote."""
        driver = f"{knob('driver', surface)}=cluster"
        if self.mode != "remote":
            raise ConfigurationError(
                f"{driver} runs the sweep as a Flyte run on a cluster, but {knob('mode', surface)} is "
                f"{self.mode!r}. Use {knob('mode', surface)}=remote, or drop {driver} to run the sweep here."
            )
        if self.rerun_failed is not None:
            raise ConfigurationError(
                f"{knob('rerun_failed', surface)} works with the local driver only: {driver} sweeps are "
                f"rerun as a whole. Drop {knob('rerun_failed', surface)}, or drop {driver}."
            )

    def replace(self, **changes: Any) -> LaunchOptions:
        return dataclasses.replace(self, **changes)

    @property
    def parallel(self) -> int | None:
        """Runs in flight at once: unlimited remote, one at a time locally, unless capped."""
        if self.max_parallel is not None:
            return self.max_parallel
        return 1 if self.mode == "local" else None


def _single_run_refusal(name: str, surface: Surface) -> str:
    if surface == "sdk":
        return f"`{name}` is a hydra_sweep option; hydra_run launches a single job. Use hydra_sweep, or drop {name}."
    if surface == "cli":
        return f"{knob(name, surface)} applies to sweeps: add --multirun, or drop {knob(name, surface)}."
    return f"{knob(name, surface)} applies to --multirun sweeps only."


def option_specs() -> dict[str, OptionSpec]:
    """Every launch option's spec, by name, in definition order."""
    return {f.name: f.metadata["option"] for f in dataclasses.fields(LaunchOptions)}


def sweep_only_options() -> tuple[str, ...]:
    return tuple(name for name, spec in option_specs().items() if spec.sweep_only)


def surface_options(surface: Surface) -> tuple[str, ...]:
    """The options `surface` spells itself."""
    return tuple(name for name, spec in option_specs().items() if surface in spec.surfaces)


DEFAULTS = LaunchOptions()
DEFAULTS_BY_NAME: dict[str, Any] = {f.name: getattr(DEFAULTS, f.name) for f in dataclasses.fields(LaunchOptions)}


def launcher_config_class(target: str) -> type:
    """The `hydra.launcher` structured config: one field per launcher option, defaults from `LaunchOptions`.

    Hydra needs a plain dataclass with OmegaConf-typed fields; it is made here so that the launcher's
    config cannot drift from the one definition of the options.
    """
    from typing import Optional

    types: dict[str, Any] = {
        "choice": str,
        "flag": bool,
        "count": Optional[int],
        "path": Optional[str],
        "text": str,
    }
    fields: list[tuple[str, Any, Any]] = [("_target_", str, field(default=target))]
    for name in surface_options("launcher"):
        fields.append((name, types[option_specs()[name].kind], field(default=DEFAULTS_BY_NAME[name])))
    return dataclasses.make_dataclass(
        "FlyteLauncherConf", fields, namespace={"__doc__": "Settings under hydra.launcher; see LaunchOptions."}
    )
