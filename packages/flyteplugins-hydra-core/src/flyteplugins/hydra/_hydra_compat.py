# ruff: noqa: E501  (the table of upstream internals below reads best one row a line)
"""Every use of a private Hydra name, in one place. Checked against hydra-core 1.3.2.

Hydra's own launchers need none of these: they are handed a loader, a sweeper and a task function
by Hydra's runtime. The SDK and CLI have no `@hydra.main` around them, so they build that runtime
themselves, and they compose sweep jobs without a task function.

| what we use | why | checked |
|---|---|---|
| `hydra._internal.config_loader_impl.ConfigLoaderImpl` | the config loader Hydra's runtime would build | 1.3.2 |
| `hydra._internal.utils.create_config_search_path` | the search path for a config directory (plus plugins' paths) | 1.3.2 |
| `hydra._internal.config_loader_impl.get_overrides_dirname` | `hydra.job.override_dirname` exactly as Hydra builds it | 1.3.2 |
| `hydra._internal.core_plugins.basic_sweeper.BasicSweeper.split_arguments` | grid expansion in BasicSweeper's order | 1.3.2 |
| `hydra._internal.hydra.Hydra`, `hydra._internal.callbacks.Callbacks` | run a sweeper plugin (Optuna, ...) outside `@hydra.main` | 1.3.2 |
| `Override._value` (a sweep override's `ChoiceSweep`/`RangeSweep`), and an `Override` made with `dataclasses.replace` | hand the composer each plain swept element's override without parsing its line again (`tests/test_fast_composition.py` proves it equal to parsing) | 1.3.8 |
| `JobReturn._return_value` | a failed job's exception (the public `return_value` re-raises it) | 1.3.2 |
| `hydra._internal.deprecation_warning.deprecation_warning` | the warning Hydra's `run_job` gives for the pre-1.2 working-directory change | 1.3.2 |
| `DefaultCompletionPlugin._query` | Hydra's own override completion, for `flyte hydra run` | 1.3.2 |

`tests/test_upstream_compat.py` fails with a message naming the upstream change when one of these moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader
    from hydra.core.utils import JobReturn
    from omegaconf import DictConfig

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def make_loader(config_dir: str | None) -> ConfigLoader:
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path

    return ConfigLoaderImpl(config_search_path=create_config_search_path(config_dir))


def overrides_dirname(parsed: Sequence[Any], *, kv_sep: str, item_sep: str, exclude_keys: Sequence[str]) -> str:
    from hydra._internal.config_loader_impl import get_overrides_dirname

    return get_overrides_dirname(
        overrides=list(parsed), kv_sep=kv_sep, item_sep=item_sep, exclude_keys=list(exclude_keys)
    )


def split_grid(parsed: Sequence[Any]) -> list[list[str]]:
    """Every job's overrides of a grid sweep, in BasicSweeper's order."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    (jobs,) = BasicSweeper.split_arguments(list(parsed), max_batch_size=None)
    return jobs


def hydra_runtime(task_name: str, loader: ConfigLoader) -> Any:
    """Hydra's runtime object, as `@hydra.main` creates it."""
    from hydra._internal.hydra import Hydra

    return Hydra(task_name=task_name, config_loader=loader)


def callbacks(cfg: DictConfig) -> Any:
    """The `hydra.callbacks` of a composed config, instantiated as Hydra's runtime does."""
    from hydra._internal.callbacks import Callbacks

    return Callbacks(cfg)


def job_return_value(ret: JobReturn) -> Any:
    """What a job returned or raised, without re-raising a failure."""
    return ret._return_value


def completion_query(loader: ConfigLoader, config_name: str | None, line: str) -> list[str]:
    """Hydra's own suggestions for the override being typed at the end of `line`."""
    from hydra.plugins.completion_plugin import DefaultCompletionPlugin

    return DefaultCompletionPlugin(loader)._query(config_name=config_name, line=line)


def deprecation_warning(message: str, stacklevel: int = 1) -> None:
    """Hydra's own deprecation warning (an error under `HYDRA_DEPRECATION_WARNINGS_AS_ERRORS`)."""
    from hydra._internal.deprecation_warning import deprecation_warning as warn

    warn(message=message, stacklevel=stacklevel + 1)


def sweep_of(override: Any) -> Any:
    """The sweep (`ChoiceSweep`, `RangeSweep`, ...) of a sweep override, None for a plain one."""
    return override._value if override.is_sweep_override() else None


def element_override(override: Any, value: Any, line: str) -> Any:
    """The override that parsing `line` (one element of `override`'s sweep, `key=<element>`) gives."""
    import dataclasses

    from hydra.core.override_parser.types import ValueType

    return dataclasses.replace(
        override, _value=value, value_type=ValueType.ELEMENT, input_line=line, config_loader=None
    )
