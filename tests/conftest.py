"""Shared fixtures: every test starts with no Flyte endpoint in sight and no global Hydra/Flyte state."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

pytest_plugins = ["flyte_loopback.pytest_plugin"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
APPS = Path(__file__).resolve().parent / "apps"


def _reset_flyte() -> None:
    """No flyte init and no remembered config file: each test finds its own (or none)."""
    from flyte.config._reader import get_config_file
    from flyte_loopback.pytest_plugin import reset_flyte_init

    reset_flyte_init()
    get_config_file.cache_clear()


@pytest.fixture(autouse=True)
def no_flyte_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hide any user or machine Flyte config so remote mode has no endpoint unless a test gives one."""
    for var in ("FLYTECTL_CONFIG", "UCTL_CONFIG", "FLYTE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    _reset_flyte()
    yield
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    _reset_flyte()


@pytest.fixture(autouse=True, scope="session")
def own_default_output_folders() -> Iterator[None]:
    """Under pytest-xdist, Hydra's default folders get this worker's name: `multirun/<date>/<time>-gw1`.

    Many tests launch without `hydra.sweep.dir`, so Hydra picks `multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}`
    under the current folder, which is the same for every worker (the repository, or `examples/`). Two
    workers starting a sweep in the same second would share one folder and append to one journal. Hydra's
    `now` resolver reads `datetime` from `hydra.core.utils` when it runs; a subclass whose `strftime` adds
    the worker's name to a time ending in seconds keeps every folder apart and leaves everything else alone.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        yield
        return
    from datetime import datetime

    import hydra.core.utils as hydra_utils

    class WorkerClock(datetime):
        def strftime(self, fmt: str) -> str:
            text = super().strftime(fmt)
            return f"{text}-{worker}" if fmt.endswith("%S") else text

    saved = hydra_utils.datetime
    hydra_utils.datetime = WorkerClock
    yield
    hydra_utils.datetime = saved


@pytest.fixture(autouse=True)
def own_hydra_version_base() -> Iterator[None]:
    """Importing a `@hydra.main` script (as `flyte hydra run` does) sets Hydra's process-wide version_base."""
    from hydra.version import VersionBase

    saved = VersionBase.instance().version_base
    yield
    VersionBase.instance().version_base = saved


@pytest.fixture
def in_examples(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from the walkthrough project, as its README does (config_path='conf' is relative to it)."""
    monkeypatch.chdir(EXAMPLES)
    return EXAMPLES


@pytest.fixture
def unreachable_endpoint_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Flyte config whose endpoint nothing listens on: any remote submission would fail."""
    config = tmp_path / "flyte-config.yaml"
    config.write_text("admin:\n  endpoint: dns:///127.0.0.1:9\n  insecure: true\ntask:\n  project: p\n  domain: d\n")
    monkeypatch.setenv("FLYTECTL_CONFIG", str(config))
    return config


def run_script(
    script: Path, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess:
    """Run a Python script the way a user does, in a fresh interpreter."""
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(APPS.parent), str(EXAMPLES)]), **(env or {})}
    return subprocess.run(
        [sys.executable, str(script), *args],
        check=False,
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def submit_without_waiting(tmp_path: Path, task: str, *overrides: str, **kwargs: object) -> tuple[str, str]:
    """A remote sweep submitted with `wait=False` by `apps/sdk_sweep.py`, a process that then exits.

    Its sweep directory and sweep id; `kwargs` are more `hydra_sweep` keywords (e.g. `driver="cluster"`).
    """
    import json
    import re

    sweep_dir = tmp_path / "sweep"
    env = {"SWEEP_KWARGS": json.dumps({"wait": False, **kwargs})}
    proc = run_script(
        APPS / "sdk_sweep.py", task, "remote", *overrides, f"hydra.sweep.dir={sweep_dir}", cwd=APPS.parent, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"flyte hydra wait {sweep_dir}" in proc.stdout
    (sweep_id,) = re.findall(r"^Sweep ([0-9a-f]+): journal", proc.stdout, re.MULTILINE)
    return str(sweep_dir), sweep_id


def peak_concurrency(spans: Iterable[tuple[float, float]]) -> int:
    """The largest number of (start, end) spans that were open at the same moment."""
    spans = list(spans)
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak
