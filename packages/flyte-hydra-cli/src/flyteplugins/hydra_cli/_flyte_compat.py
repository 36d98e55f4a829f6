# ruff: noqa: E501  (the table of upstream internals below reads best one row a line)
"""Every use of a private flyte CLI name by `flyte hydra run`, in one place. Checked against flyte 2.12.1.

`flyte hydra run` offers `flyte run`'s own options and reads task inputs the way `flyte run` does;
flyte exposes neither as public API yet.

| what we use | why | checked |
|---|---|---|
| `flyte.cli._run.RunArguments` | `flyte run`'s options (their click definitions and parsed values) | 2.12.1 |
| `flyte.cli._common.initialize_config` | `flyte.init` from those options, as `flyte run` does | 2.12.1 |
| `flyte.cli._params.to_click_option` | a task input as a typed click option | 2.12.1 |
| `flyte._internal.runtime.types_serde.transform_native_to_typed_interface` | a task's typed interface, for those options | 2.12.1 |

`tests/test_upstream_compat.py` fails with a message naming the upstream change when one of these moves.
"""

from __future__ import annotations

from typing import Any

from flyte.cli._run import RunArguments

__all__ = ["RunArguments", "initialize_config", "task_input_option", "typed_interface"]


def initialize_config(*args: Any) -> Any:
    from flyte.cli._common import initialize_config as initialize

    return initialize(*args)


def typed_interface(task: Any) -> Any:
    from flyte._internal.runtime.types_serde import transform_native_to_typed_interface

    return transform_native_to_typed_interface(task.native_interface)


def task_input_option(name: str, literal_type: Any, python_type: Any, default: Any) -> Any:
    from flyte.cli._params import to_click_option

    return to_click_option(name, literal_type, python_type, default)
