"""Every launch option takes effect on every path, enumerated from the one definition of the options.

A path is one way a user launches: the SDK's grid sweep, a sweep through Hydra's runtime (a `hydra/...`
override, and Optuna), a single run, the `--multirun` launcher, and `flyte hydra run` single and
multirun. A probe sets one option to a value other than its default and checks what that must change.
An option added to `LaunchOptions` without a probe fails `test_every_option_has_a_probe`; a probe runs
on every path, so the new option is then checked everywhere.

Each probe's job records itself in `$PROBE_LOG` (see `tasks.probe`), so "what ran" is read from the jobs,
not from our own bookkeeping.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from apps import tasks
from cli_support import TASKS, flat, flyte_cli
from conftest import APPS, peak_concurrency, run_script

from flyteplugins.hydra import FlyteHydraError, hydra_run, hydra_sweep
from flyteplugins.hydra.engine import DEFAULTS, knob, option_specs

CONF = str(APPS / "conf")
HYDRA_APP = APPS / "hydra_app.py"
PATHS = ("sdk_grid", "sdk_hydra_runtime", "sdk_optuna", "sdk_single", "launcher_multirun", "cli_single", "cli_multirun")
SINGLE = ("sdk_single", "cli_single")
OPTUNA = ("hydra/sweeper=optuna", "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2", "x=choice(1,2)")


@dataclass
class Ran:
    """What a launch did: the jobs that ran (from the probe log), what it printed, and its error if it failed."""

    jobs: list[dict[str, Any]]
    output: str
    error: str | None
    sweep_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def xs(self) -> list[int]:
        return sorted(job["x"] for job in self.jobs)


class Launch:
    """Launch the probe task on one path with some options and extra config overrides."""

    def __init__(
        self, path: str, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: Any, env: pytest.MonkeyPatch
    ) -> None:
        self.path, self.tmp_path, self.capfd, self.caplog, self.env = path, tmp_path, capfd, caplog, env
        self.count = 0
        self.cwd = APPS  # where the launcher's app runs: flyte's root_dir, i.e. what a remote run bundles

    @property
    def multirun(self) -> bool:
        return self.path not in SINGLE

    def __call__(self, options: dict[str, Any], *overrides: str, sweep_dir: Path | None = None) -> Ran:
        self.count += 1
        log = self.tmp_path / f"probe-{self.count}.jsonl"
        self.env.setenv("PROBE_LOG", str(log))
        sweep_dir = sweep_dir or self.tmp_path / f"sweep-{self.count}"
        where = [f"hydra.sweep.dir={sweep_dir}", f"hydra.run.dir={self.tmp_path / f'run-{self.count}'}"]
        if self.path == "sdk_optuna":
            config = [*OPTUNA, *overrides]
        elif self.multirun:
            config = ["x=1,2", *overrides]
        else:
            config = ["x=1", *overrides]
        if self.path == "sdk_hydra_runtime":
            config.append("hydra/job_logging=disabled")
        self.capfd.readouterr()
        self.caplog.clear()
        error, extra = getattr(self, f"_{self.path.split('_')[0]}")(options, [*config, *where])
        out, err = self.capfd.readouterr()
        output = out + err + "\n".join(r.getMessage() for r in self.caplog.records)
        jobs = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return Ran(jobs, output, error, sweep_dir, extra)

    def _sdk(self, options: dict[str, Any], overrides: list[str]) -> tuple[str | None, dict[str, Any]]:
        launch = hydra_sweep if self.multirun else hydra_run
        try:
            result = launch(tasks.probe, config_path=CONF, config_name="app", overrides=overrides, **options)
        except (FlyteHydraError, TypeError) as e:
            return str(e), {}
        return None, {"result": result}

    def _launcher(self, options: dict[str, Any], overrides: list[str]) -> tuple[str | None, dict[str, Any]]:
        settings = [f"hydra.launcher.{name}={_hydra_value(value)}" for name, value in options.items()]
        args = ["--multirun", "hydra/launcher=flyte", "+task=probe", *settings, *overrides]
        proc = run_script(HYDRA_APP, *args, cwd=self.cwd)
        print(proc.stdout, proc.stderr)
        return (proc.stderr or "failed") if proc.returncode else None, {"returncode": proc.returncode}

    def _cli(self, options: dict[str, Any], overrides: list[str]) -> tuple[str | None, dict[str, Any]]:
        flags: list[str] = []
        for name, value in options.items():
            if name == "run_options":
                flags += [f"--{k}={v}" for k, v in value.items()]
            elif value is True or value is False:
                flags.append(knob(name, "cli") if value else f"--no-{knob(name, 'cli')[2:]}")
            else:
                flags += [knob(name, "cli"), str(value)]
        app = [a for o in overrides if not o.startswith(("hydra.", "hydra/")) for a in ("--cfg", o)]
        hydra = [a for o in overrides if o.startswith(("hydra.", "hydra/")) for a in ("--hydra-override", o)]
        multirun = ["--multirun"] if self.multirun else []
        result = flyte_cli(
            "hydra", "run", *multirun, "--config-path", CONF, "--config-name", "app", *flags,
            TASKS, "probe", *app, *hydra,
        )  # fmt: skip
        print(result.output)
        return (flat(result.output) if result.exit_code else None), {"exit_code": result.exit_code}


def _hydra_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


# ---------------------------------------------------------------------------------------------
# Probes: one per option. Each sets the option away from its default and checks the effect.


def _refused(ran: Ran, *words: str) -> None:
    assert ran.error is not None, f"expected the launch to be refused, it printed:\n{ran.output}"
    assert ran.jobs == [], "a refused launch must run nothing"
    for word in words:
        assert word in ran.error, ran.error


def probe_mode(launch: Launch, remote: Any) -> None:
    # An endpoint is configured and unreachable: only if mode=local took effect do the jobs run at all.
    ran = launch({"mode": "local"})
    assert ran.error is None, ran.error
    assert len(ran.jobs) == (2 if launch.multirun else 1)


def probe_wait(launch: Launch, remote: Any) -> None:
    server = remote()
    ran = launch({"mode": "remote", "wait": False})
    if launch.path == "sdk_optuna":
        _refused(ran, knob("wait", "sdk"), "optuna")
        return
    assert ran.error is None, ran.error
    assert "not waiting" in ran.output.lower() or "Submitted" in ran.output
    assert server.counters.get("CreateRun", 0) == (2 if launch.multirun else 1)
    assert server.counters.get("WatchActionDetails", 0) == 0, "wait=False must not watch any run"


def probe_wait_max_workers(launch: Launch, remote: Any) -> None:
    remote()
    ran = launch({"mode": "remote", "wait_max_workers": 1})
    assert ran.error is None, ran.error
    assert "with 1 worker thread(s)" in ran.output


def probe_max_parallel(launch: Launch, remote: Any) -> None:
    ran = launch({"mode": "local", "max_parallel": 2}, "+sleep=0.5")
    if launch.path in SINGLE:
        _refused(ran, "max-parallel" if launch.path == "cli_single" else "max_parallel", "sweep")
        return
    assert ran.error is None, ran.error
    assert _most_overlapping(ran.jobs) == 2, ran.jobs


def probe_fail_fast(launch: Launch, remote: Any) -> None:
    ran = launch({"mode": "local", "fail_fast": True}, "+fail=true")
    if launch.path in SINGLE:
        _refused(ran, "fail")
        return
    assert len(ran.jobs) == 1, f"fail_fast let {len(ran.jobs)} jobs run after the first failure"
    assert "CANCELLED" in ran.output or "cancelled" in ran.output


def probe_dry_run(launch: Launch, remote: Any) -> None:
    ran = launch({"mode": "local", "dry_run": True})
    if launch.path == "sdk_optuna":
        _refused(ran, "dry")
        return
    assert ran.jobs == [], f"a dry run ran {ran.jobs}"
    assert "Dry run" in ran.output, ran.output


def probe_rerun_failed(launch: Launch, remote: Any) -> None:
    if launch.path in SINGLE or launch.path == "sdk_optuna":
        ran = launch({"mode": "local", "rerun_failed": str(launch.tmp_path)})
        _refused(ran, "rerun")
        return
    first = launch({"mode": "local"}, "+fail=2")
    assert first.xs == [1, 2]
    rerun = launch({"mode": "local", "rerun_failed": str(first.sweep_dir)}, "+fail=2", sweep_dir=first.sweep_dir)
    assert rerun.xs == [2], f"the rerun ran x={rerun.xs}, not only the failed x=2"


def probe_task_env_key(launch: Launch, remote: Any) -> None:
    # Only a launch that reads its task_env from `envs` finds this malformed entry.
    ran = launch({"mode": "local", "task_env_key": "envs"}, "+envs={probe: 3}")
    assert "'envs.probe' must be a mapping" in (ran.error or ran.output), ran.output
    plain = launch({"mode": "local"}, "+envs={probe: 3}")
    assert plain.error is None and "must be a mapping" not in plain.output


def probe_progress(launch: Launch, remote: Any) -> None:
    if launch.path in SINGLE:
        remote()  # a single run prints only its remote submission
        ran = launch({"mode": "remote", "progress": "off"})
        assert ran.error is None, ran.error
        assert "Flyte run submitted" not in ran.output
        return
    loud = launch({"mode": "local"})
    assert "job #0" in loud.output
    ran = launch({"mode": "local", "progress": "off"})
    assert ran.error is None, ran.error
    assert "job #0" not in ran.output and "succeeded" not in ran.output, ran.output


def probe_run_options(launch: Launch, remote: Any) -> None:
    if launch.path == "launcher_multirun":
        # The app calls flyte.with_runcontext itself: the launcher offers no run_options and says so.
        ran = launch({"run_options": "x"})
        assert ran.error is not None and "run_options" in ran.error
        return
    ran = launch({"mode": "local", "run_options": {"name": "exp"}})
    assert ran.error is None, ran.error
    expected = ["exp"] if launch.path in SINGLE else ["exp-0", "exp-1"]
    assert sorted(job["run"] for job in ran.jobs) == expected


def probe_driver(launch: Launch, remote: Any) -> None:
    if launch.path in SINGLE:
        ran = launch({"mode": "remote", "driver": "cluster"})
        _refused(ran, "driver", "sweep")
        return
    server = remote()
    server.nested = True
    if launch.path == "launcher_multirun":
        # The app's sweep runs inside the driver run; each job's own flyte.run is spawned by the driver.
        launch.cwd = APPS.parent  # the app imports `apps.tasks`: bundle from the folder holding the package
        ran = launch({"mode": "remote", "driver": "cluster"})
        assert ran.error is None, ran.error
        driver, *jobs = server.requests("CreateRun")
        name = driver.message.run_id.name
        assert [r.message.run_spec.relation.related_to.name for r in jobs] == [name, name], "spawned by the driver"
        assert sorted(job["run"] for job in ran.jobs) == sorted(set(server.runs()) - {name}), ran.jobs
        assert "2 succeeded, 0 failed" in ran.output
        return
    ran = launch({"mode": "remote", "driver": "cluster"})
    assert ran.error is None, ran.error
    assert server.counters["CreateRun"] == 1, "the cluster driver is the only run the client creates"
    assert server.counters["EnqueueAction"] == len(ran.jobs) == 2, ran.jobs
    driver_run = server.requests("CreateRun")[0].message.run_id.name
    assert {job["run"] for job in ran.jobs} == {driver_run}, "every job ran as a child action of the driver run"


PROBES: dict[str, Callable[[Launch, Any], None]] = {
    name.removeprefix("probe_"): value for name, value in dict(globals()).items() if name.startswith("probe_")
}


def _most_overlapping(jobs: list[dict[str, Any]]) -> int:
    return peak_concurrency((j["start"], j["end"]) for j in jobs)


def test_every_option_has_a_probe():
    assert set(PROBES) == set(option_specs()), "add a probe_<option> for each launch option"
    for name, value in option_specs().items():
        assert value.help, f"{name} has no help text"
        assert hasattr(DEFAULTS, name)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("option", sorted(option_specs()))
def test_option_takes_effect(option, path, tmp_path, capfd, caplog, monkeypatch, request, unreachable_endpoint_config):
    caplog.set_level(logging.INFO, logger="flyteplugins.hydra")

    def remote() -> Any:
        return request.getfixturevalue("flyte_loopback")

    PROBES[option](Launch(path, tmp_path, capfd, caplog, monkeypatch), remote)
