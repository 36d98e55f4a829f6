"""`task_env` lowering: per-task Flyte settings kept in the Hydra config, applied with `task.override`.

Hydra composes plain YAML; Flyte wants `flyte.Resources` and pod templates. This module turns the
former into the latter so hardware presets can be selected and swept like any other config group.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import inspect
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from ._errors import ConfigurationError

T = TypeVar("T")

DEFAULT_TASK_ENV_KEY = "task_env"
_IMAGE = "image"
_PRIMARY = "primary_container_name"
_RESOURCES = "resources"
_NOT_OVERRIDABLE = frozenset({"short_name", "self"})

# The launch's `task_env_key`, for `apply_task_env` calls in the app's own code (the launcher path).
_LAUNCH_KEY: contextvars.ContextVar[str] = contextvars.ContextVar("flyte_hydra_task_env_key")


@contextlib.contextmanager
def task_env_key_scope(key: str) -> Iterator[None]:
    """While a launch runs a job, `apply_task_env` without a key reads this launch's key."""
    token = _LAUNCH_KEY.set(key)
    try:
        yield
    finally:
        _LAUNCH_KEY.reset(token)


def task_env_section(cfg: Any, task_name: str, task_env_key: str = DEFAULT_TASK_ENV_KEY) -> dict[str, Any] | None:
    """The plain-dict `task_env` entry for `task_name`, or None when the config has none."""
    from omegaconf import DictConfig, OmegaConf

    # `key in cfg` of a struct config without the key raises and formats an error inside OmegaConf
    # (0.1 ms, twice a sweep job): its keys say so first.
    if cfg is None or (isinstance(cfg, DictConfig) and task_env_key not in cfg.keys()) or task_env_key not in cfg:
        return None
    section = cfg[task_env_key]
    if section is None:
        return None
    if not isinstance(section, (DictConfig, Mapping)):
        raise ConfigurationError(
            f"'{task_env_key}' must map task names to settings, got {type(section).__name__} {section!r}. "
            f"Write e.g. `{task_env_key}: {{{task_name}: {{resources: {{cpu: '2'}}}}}}`."
        )
    entry = section.get(task_name)
    if entry is None:
        return None
    if not isinstance(entry, (DictConfig, Mapping)):
        raise ConfigurationError(
            f"'{task_env_key}.{task_name}' must be a mapping of task.override settings, got "
            f"{type(entry).__name__} {entry!r}."
        )
    values = OmegaConf.to_container(entry, resolve=True) if isinstance(entry, DictConfig) else dict(entry)
    assert isinstance(values, dict)
    return values


def _override_parameters(task: Any) -> set[str]:
    params = inspect.signature(task.override).parameters
    return {n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD} - _NOT_OVERRIDABLE


def _resources(where: str, value: Any) -> Any:
    import flyte

    from ._quantities import checked_resources

    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"'{where}.resources' must be a mapping like {{cpu: '2', memory: 8Gi}}, got {value!r}."
        )
    try:
        return flyte.Resources(**checked_resources(f"{where}.resources", value))
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"'{where}.resources' is not valid for flyte.Resources: {e}") from e


def _pod_template(task: Any, where: str, image: Any, primary_name: Any) -> Any:
    """A pod template whose primary container runs `image`, keeping everything else of the task's own."""
    import flyte
    from kubernetes.client import V1Container, V1PodSpec

    if not isinstance(image, str) or not image:
        raise ConfigurationError(f"'{where}.image' must be a container image reference string, got {image!r}.")
    existing = getattr(task, "pod_template", None)
    if isinstance(existing, str):
        raise ConfigurationError(
            f"Task '{task.name}' uses the named pod template '{existing}', which cannot be patched at submission "
            f"time; remove '{where}.image' and set the image in that cluster template, or give the task an inline "
            "flyte.PodTemplate."
        )
    if existing is None:
        template = flyte.PodTemplate(primary_container_name=primary_name or "primary")
    else:
        template = copy.deepcopy(existing)
        if primary_name:
            template.primary_container_name = primary_name
    if template.pod_spec is None:
        template.pod_spec = V1PodSpec(containers=[])
    # Build the list, then assign: kubernetes models may copy a list when it is assigned.
    containers = list(template.pod_spec.containers or [])
    for container in containers:
        if container.name == template.primary_container_name:
            container.image = image
            break
    else:
        containers.append(V1Container(name=template.primary_container_name, image=image))
    template.pod_spec.containers = containers
    return template


def lower_task_env(task: Any, settings: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Turn one `task_env` entry into keyword arguments for `task.override`."""
    allowed = _override_parameters(task)
    unknown = sorted(set(settings) - allowed - {_IMAGE, _PRIMARY})
    if unknown:
        raise ConfigurationError(
            f"'{where}' has unknown setting(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(allowed | {_IMAGE, _PRIMARY}))}."
        )
    kwargs = {k: v for k, v in settings.items() if k not in (_IMAGE, _PRIMARY)}
    if _RESOURCES in kwargs and kwargs[_RESOURCES] is not None:
        kwargs[_RESOURCES] = _resources(where, kwargs[_RESOURCES])
    if _PRIMARY in settings and settings.get(_IMAGE) is None:
        raise ConfigurationError(
            f"'{where}.primary_container_name' only applies together with '{where}.image'; add an image or remove it."
        )
    if settings.get(_IMAGE) is not None:
        if "pod_template" in kwargs:
            raise ConfigurationError(f"'{where}' sets both image and pod_template; keep one of them.")
        kwargs["pod_template"] = _pod_template(task, where, settings[_IMAGE], settings.get(_PRIMARY))
    return kwargs


def apply_task_env(task: T, cfg: Any, task_env_key: str | None = None, task_name: str | None = None) -> T:
    """Return `task` overridden with `cfg[task_env_key][task_name]`, or `task` itself when nothing applies.

    The entry task of every launch gets this automatically; call it yourself for child tasks::

        train = apply_task_env(train_model, cfg)
        _, loss = await train(cfg, data)

    `task_name` defaults to the task's function name (`train_model` above); `task_env_key` to the
    launch's own (`hydra.launcher.task_env_key`, `--task-env-key`), which is `task_env` unless set.
    """
    if task_env_key is None:
        task_env_key = _LAUNCH_KEY.get(DEFAULT_TASK_ENV_KEY)
    name = task_name or getattr(task, "short_name", None) or getattr(task, "name", None)
    if not isinstance(name, str):
        raise ConfigurationError(f"{task!r} is not a Flyte task: decorate it with @env.task (flyte.TaskEnvironment).")
    return apply_task_env_section(task, task_env_section(cfg, name, task_env_key), f"{task_env_key}.{name}")


def apply_task_env_section(task: T, settings: dict[str, Any] | None, where: str) -> T:
    """`task` overridden with the already-read `task_env` section `settings` (found at `where`), or `task` itself.

    For callers that need the section too (a sweep keys its task specs by it), so it is read once.
    """
    if not settings:
        return task
    kwargs = lower_task_env(task, settings, where)
    try:
        return task.override(**kwargs)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as e:
        name = getattr(task, "short_name", None) or getattr(task, "name", None)
        raise ConfigurationError(f"'{where}' could not be applied to task '{name}': {e}") from e
