"""The private flyte and Hydra names our compat modules lean on still exist, with the shape we use.

Each check names the upstream object; when flyte or Hydra moves one, the failure says which, so the
fix is one row of `_flyte_compat.py` / `_hydra_compat.py` (or the CLI's `_flyte_compat.py`).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import pytest


def _resolve(path: str) -> object:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        pytest.fail(f"upstream moved {module_name}: {e}. Update the compat module's row for it.")
    value: object = module
    for part in attribute.split(".") if attribute else ():
        if not hasattr(value, part):
            pytest.fail(f"upstream {module_name} no longer has {attribute}. Update the compat module's row for it.")
        value = getattr(value, part)
    return value


UPSTREAM = {
    "flyte._initialize:_get_init_config": None,
    "flyte._initialize:init_config_context": None,
    "flyte._initialize:get_init_config": None,
    "flyte.config._reader:resolve_config_path": None,
    "flyte.config._reader:get_config_file": None,
    "flyte._internal.controllers:_ControllerState": None,
    "flyte._code_bundle._ignore:FlyteIgnore": None,
    "flyte._code_bundle._ignore:GitIgnore": None,
    "flyte._code_bundle._ignore:StandardIgnore": None,
    "flyte._code_bundle._packaging:list_files_to_bundle": None,
    "flyte._internal.runtime.taskrunner:run_task": None,
    "flyte.cli._run:RunArguments": lambda v: hasattr(v, "options") and hasattr(v, "from_dict"),
    "flyte.cli._common:initialize_config": None,
    "flyte.cli._params:to_click_option": None,
    "flyte._internal.runtime.types_serde:transform_native_to_typed_interface": None,
    "hydra._internal.config_loader_impl:ConfigLoaderImpl": lambda v: hasattr(v, "load_sweep_config"),
    "hydra._internal.config_loader_impl:get_overrides_dirname": None,
    "hydra._internal.utils:create_config_search_path": None,
    "hydra._internal.core_plugins.basic_sweeper:BasicSweeper.split_arguments": None,
    "hydra._internal.hydra:Hydra": lambda v: hasattr(v, "compose_config"),
    "hydra._internal.callbacks:Callbacks": lambda v: hasattr(v, "on_multirun_start"),
    "hydra.plugins.completion_plugin:DefaultCompletionPlugin._query": None,
    "hydra._internal.deprecation_warning:deprecation_warning": None,
}


@pytest.mark.parametrize("path", sorted(UPSTREAM))
def test_upstream_name_is_still_there(path: str):
    value = _resolve(path)
    shape: Callable[[object], bool] | None = UPSTREAM[path]
    if shape is not None:
        assert shape(value), f"upstream {path} changed shape. Update the compat module's row for it."


def test_flyte_local_runner_keeps_the_attributes_we_stop():
    from flyte._internal.controllers._local_controller import LocalController

    source = inspect.getsource(LocalController)
    assert "_runner_map" in source, "flyte's LocalController no longer keeps _runner_map (release_local_runners)"
    runner = _resolve("flyte._internal.controllers._local_controller:_TaskRunner")
    assert hasattr(runner, "_close") and "__loop" in inspect.getsource(runner), (
        "flyte's _TaskRunner changed: _close or its private loop moved (release_local_runners)"
    )


def test_with_runcontext_runner_keeps_the_bundle_fields_we_set():
    import flyte

    runner = flyte.with_runcontext(mode="local")
    for name in ("_copy_files", "_bundle_relative_paths", "_bundle_from_dir"):
        assert hasattr(runner, name), f"flyte's runner has no {name} any more (SweepCodeBundle.apply)"


def test_job_return_keeps_its_private_value():
    from hydra.core.utils import JobReturn, JobStatus

    ret = JobReturn(status=JobStatus.FAILED)
    ret.return_value = ValueError("x")
    assert isinstance(ret._return_value, ValueError), "Hydra's JobReturn moved _return_value (job_return_value)"


def test_compat_modules_are_the_only_private_upstream_users():
    """grep's view: outside the compat modules our packages name no private flyte or Hydra module."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "packages"
    private = re.compile(r"\b(?:flyte|hydra)(?:\.[A-Za-z0-9_]+)*\._(?!target_\b)[a-z]")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.py")
        if not path.name.endswith("_compat.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line) and "flyteplugins.hydra._" not in line
    ]
    assert offenders == []


def test_sibling_packages_import_only_the_public_core():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "packages"
    offenders = [
        str(path.relative_to(root))
        for package in ("hydra-flyte-launcher", "flyte-hydra-cli")
        for path in (root / package / "src").rglob("*.py")
        if "flyteplugins.hydra._" in path.read_text()
    ]
    assert offenders == []
