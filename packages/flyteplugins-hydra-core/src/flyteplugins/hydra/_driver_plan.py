"""What the client hands the cluster driver, and what the driver hands back: plain, JSON-ready records.

A cluster-driven sweep is one Flyte run of `_driver.sweep_driver`, whose only input is a `DriverPlan`
and whose only output is a `DriverResult`, both as JSON text. JSON keeps the driver's signature fixed
whatever the entry task looks like, and lets `flyte hydra results` read a result in any process.
Standard library only: the client imports this before it knows whether flyte is needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

DRIVER_LABEL = "hydra-driver"
RESULTS_FILE = "optimization_results.yaml"


@dataclass(frozen=True)
class PlannedChild:
    """One job of a grid sweep, composed on the client: its number, overrides and the config its task gets."""

    num: int
    overrides: list[str]
    config: dict[str, Any]


@dataclass(frozen=True)
class DriverPlan:
    """Everything the driver needs to run a sweep.

    A grid sweep comes with its `jobs` composed; a sampling sweep (Optuna, ...) comes with `config_dir`
    (relative to the code bundle's root), `config_name` and the sweep `overrides`, and composes inside.
    """

    sweep_id: str
    task_module: str
    task_name: str
    config_param: str
    task_env_key: str
    task_inputs: dict[str, Any] = field(default_factory=dict)
    max_parallel: int | None = None
    fail_fast: bool = False
    jobs: list[PlannedChild] = field(default_factory=list)
    config_dir: str | None = None
    config_name: str | None = None
    overrides: list[str] = field(default_factory=list)

    @property
    def sampling(self) -> bool:
        return self.config_dir is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DriverPlan:
        values = json.loads(text)
        values["jobs"] = [PlannedChild(**job) for job in values.get("jobs", [])]
        return cls(**values)


@dataclass
class ChildRecord:
    """One job as the driver saw it: the phase and value of its child action, or why it has none.

    A job of an app-driven sweep (`_driver_app`) is a run of its own: `action` is its run's name, `url` its URL.
    """

    num: int
    overrides: list[str]
    phase: str = "PENDING"
    value: Any = None
    error: str | None = None
    action: str | None = None
    url: str | None = None
    group: str | None = None
    started: float | None = None
    finished: float | None = None

    def for_report(self) -> dict[str, Any]:
        """The row `_html_report.render_report` reads."""
        return {
            "num": self.num,
            "overrides": self.overrides,
            "phase": self.phase,
            "result": self.value,
            "error": self.error,
            "run_name": self.action,
            "url": self.url,
            "started": self.started,
            "finished": self.finished,
        }


@dataclass
class DriverResult:
    """The sweep's result: every job, in job order, and the sweeper's own result (Optuna's best, ...)."""

    sweep_id: str
    jobs: list[ChildRecord]
    sweeper_result: dict[str, Any] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DriverResult:
        values = json.loads(text)
        jobs = sorted((ChildRecord(**job) for job in values.get("jobs", [])), key=lambda j: j.num)
        return cls(values["sweep_id"], jobs, values.get("sweeper_result"))


def group_name(num: int, overrides: Sequence[str]) -> str:
    """The Flyte UI group of one job's child action: its number and overrides, so each child says which job it is."""
    text = f"#{num} {' '.join(overrides)}".strip()
    return text if len(text) <= 120 else text[:117] + "..."


def jsonable(value: Any, what: str) -> Any:
    """`value` if it survives a JSON round trip unchanged in kind, else an error naming `what`."""
    from ._errors import ConfigurationError

    try:
        json.dumps(value)
    except (TypeError, ValueError) as e:
        raise ConfigurationError(
            f"{what} is {type(value).__name__} {value!r}, which cannot travel to the cluster driver as JSON ({e}). "
            "With driver=cluster, pass task inputs that are strings, numbers, booleans, lists or dicts of those, "
            "or put the value in the Hydra config instead."
        ) from e
    return value


def plain_value(value: Any) -> Any:
    """A child's output as JSON: numbers, strings, lists and dicts as they are, anything else by its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    return repr(value)
