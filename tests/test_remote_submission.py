"""How a remote sweep submits: what is made once per process or sweep, and what waits for what."""

from __future__ import annotations

import importlib
import os
import sys

import pytest
from apps import tasks
from conftest import APPS

from flyteplugins.hydra import hydra_sweep

CONF = str(APPS / "conf")


@pytest.fixture
def code_root(tmp_path, monkeypatch):
    """A folder of user modules on the import path; the modules imported from it are forgotten afterwards."""
    root = (tmp_path / "code").resolve()
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if name.startswith("listed_"):
            del sys.modules[name]


def _module(root, name, text="VALUE = 1\n"):
    (root / f"{name}.py").write_text(text)
    importlib.invalidate_caches()
    return importlib.import_module(name)


def test_the_bundle_list_is_kept_while_no_user_module_is_imported_and_no_listed_file_changes(code_root):
    from flyteplugins.hydra._flyte_compat import _listed_files

    _module(code_root, "listed_first")
    listed = _listed_files(code_root, "loaded_modules")
    assert listed == ("listed_first.py",)
    importlib.import_module("json.tool")  # an installed module: it is never bundled
    assert _listed_files(code_root, "loaded_modules") is listed


def test_a_user_module_imported_after_a_sweep_is_bundled_by_the_next(code_root):
    from flyteplugins.hydra._flyte_compat import _listed_files

    _module(code_root, "listed_first")
    assert _listed_files(code_root, "loaded_modules") == ("listed_first.py",)
    _module(code_root, "listed_second")
    assert sorted(_listed_files(code_root, "loaded_modules")) == ["listed_first.py", "listed_second.py"]


def test_editing_a_listed_file_lists_the_bundle_again(code_root):
    from flyteplugins.hydra._flyte_compat import _listed_files

    _module(code_root, "listed_first")
    listed = _listed_files(code_root, "loaded_modules")
    first = code_root / "listed_first.py"
    first.write_text("import listed_helper  # noqa\nVALUE = 1\n")
    (code_root / "listed_helper.py").write_text("HELP = 1\n")
    later = first.stat().st_mtime_ns + 5_000_000_000
    os.utime(first, ns=(later, later))
    again = _listed_files(code_root, "loaded_modules")
    assert again is not listed and "listed_first.py" in again


def test_the_whole_folder_style_is_listed_for_every_sweep(code_root):
    from flyteplugins.hydra._flyte_compat import _listed_files

    (code_root / "data.txt").write_text("x\n")
    assert "data.txt" in _listed_files(code_root, "all")
    (code_root / "more.txt").write_text("y\n")
    assert "more.txt" in _listed_files(code_root, "all")


def test_short_gil_turns_restore_the_switch_interval():
    from flyteplugins.hydra._workers import short_gil_turns

    before = sys.getswitchinterval()
    with short_gil_turns(0.0001):
        assert sys.getswitchinterval() == pytest.approx(0.0001)
    assert sys.getswitchinterval() == before


def test_short_gil_turns_leave_an_interval_set_inside_the_block_alone():
    from flyteplugins.hydra._workers import short_gil_turns

    before = sys.getswitchinterval()
    try:
        with short_gil_turns(0.0001):
            sys.setswitchinterval(0.002)
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(before)


def test_the_other_jobs_are_submitted_once_the_first_submission_is_answered(flyte_loopback):
    """The first submission builds the code bundle and task spec the others reuse: they wait for its answer."""
    flyte_loopback.limit_running(0)
    flyte_loopback.set_latency(0.3, rpc="CreateRun")
    hydra_sweep(
        tasks.scaled, config_path=CONF, config_name="app", overrides=["x=range(0,6)"], mode="remote", wait=False
    )
    uploads = flyte_loopback.requests("UploadInputs")
    first_create = flyte_loopback.requests("CreateRun")[0]
    assert len(uploads) == 6 and flyte_loopback.counters["SignedUrlPut"] == 1
    assert [u.received_at > first_create.received_at + 0.29 for u in uploads] == [False, *[True] * 5]
