"""How a task receives its config: found by type, other inputs checked before anything runs."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping
from typing import Any

from ._errors import ConfigurationError


def _task_function(task: Any) -> Any:
    func = getattr(task, "func", None)
    if func is None:
        raise ConfigurationError(f"{task!r} is not a Flyte task: decorate it with @env.task (flyte.TaskEnvironment).")
    return func


def _is_dictconfig(annotation: Any) -> bool:
    from omegaconf import DictConfig

    if annotation is DictConfig:
        return True
    return any(arg is DictConfig for arg in typing.get_args(annotation))


def config_parameter(task: Any) -> str:
    """Name of the task's first parameter annotated `DictConfig` (whatever it is called)."""
    func = _task_function(task)
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {name: p.annotation for name, p in inspect.signature(func).parameters.items()}
    for name in inspect.signature(func).parameters:
        if _is_dictconfig(hints.get(name)):
            return name
    raise ConfigurationError(
        f"Task '{task.name}' has no DictConfig input, so there is nowhere to pass the composed config. "
        f"Add a parameter annotated `DictConfig` (from omegaconf), e.g. `def {func.__name__}(cfg: DictConfig, ...)`."
    )


def check_task_inputs(task: Any, config_param: str, inputs: Mapping[str, Any]) -> None:
    """Reject unknown or missing task inputs before any job is composed."""
    params = inspect.signature(_task_function(task)).parameters
    unknown = sorted(set(inputs) - set(params))
    if config_param in inputs:
        raise ConfigurationError(
            f"'{config_param}' is the composed Hydra config of task '{task.name}'; do not pass it as an input. "
            "Use overrides to change it."
        )
    if unknown:
        raise ConfigurationError(
            f"Task '{task.name}' has no input(s) {', '.join(unknown)}; its inputs are: "
            f"{', '.join(p for p in params if p != config_param) or '(none besides the config)'}."
        )
    missing = [
        name
        for name, p in params.items()
        if name != config_param and name not in inputs and p.default is inspect.Parameter.empty
    ]
    if missing:
        raise ConfigurationError(
            f"Task '{task.name}' needs input(s) {', '.join(missing)}; pass them as keyword arguments "
            f"(e.g. {missing[0]}=...)."
        )
    _check_scalar_types(task, inputs)


# Inputs whose annotation is one of these plain types are checked up front; flyte checks the rest when it runs.
_SCALARS: dict[type, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def _check_scalar_types(task: Any, inputs: Mapping[str, Any]) -> None:
    """A task input of the wrong plain type would fail every job at run time: refuse it before any runs."""
    func = _task_function(task)
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        return
    for name, value in inputs.items():
        accepted = _SCALARS.get(hints.get(name))  # type: ignore[arg-type]
        if accepted is None:
            continue
        wrong_bool = isinstance(value, bool) and bool not in accepted
        if wrong_bool or not isinstance(value, accepted):
            expected = {int: "an int", float: "a float", str: "a str", bool: "a bool"}[hints[name]]
            raise ConfigurationError(
                f"Task '{task.name}' input {name} is {expected}, got {type(value).__name__} {value!r}. "
                f"Pass {expected} (e.g. {name}={_SCALARS_EXAMPLE[hints[name]]})."
            )


_SCALARS_EXAMPLE = {int: "3", float: "0.5", str: "'text'", bool: "True"}
