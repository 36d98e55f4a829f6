"""Local parallel jobs each run on an event loop of their own: an `async` task that blocks holds up only its job."""

from __future__ import annotations

from apps import blocking
from conftest import APPS, run_script
from test_task_exits import bounded

from flyteplugins.hydra import hydra_sweep

CONF = str(APPS / "conf")


def sweep(task, tmp_path, *overrides: str, max_parallel: int) -> list[float]:
    signals = tmp_path / "signals"
    signals.mkdir()
    results = bounded(
        hydra_sweep,
        task=task,
        config_path=CONF,
        config_name="app",
        mode="local",
        max_parallel=max_parallel,
        overrides=[f"+signals={signals}", f"hydra.sweep.dir={tmp_path / 'sweep'}", *overrides],
    )
    return [r.value for r in results]


def test_blocking_async_jobs_and_their_child_tasks_run_concurrently_up_to_max_parallel(tmp_path):
    assert sweep(blocking.meet_everyone, tmp_path, "x=1,2,3", "+everyone=[1,2,3]", max_parallel=3) == [1.0, 2.0, 3.0]


def test_a_blocked_async_job_does_not_hold_up_the_jobs_beside_it(tmp_path):
    results = sweep(blocking.blocks_until_others_finish, tmp_path, "x=1,2,3", "+others=[2,3]", max_parallel=2)
    assert results == [1.0, 2.0, 3.0]


def test_launcher_jobs_of_a_blocking_plain_task_run_concurrently(tmp_path):
    signals = tmp_path / "signals"
    signals.mkdir()
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=local",
        "hydra.launcher.max_parallel=3",
        "+task=blocking.meet_everyone_in_a_plain_task",
        "x=1,2,3",
        "+everyone=[1,2,3]",
        f"+signals={signals}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "3 succeeded, 0 failed" in proc.stdout


def test_flyte_still_exposes_the_coroutine_behind_its_run_wrapper():
    import inspect

    import flyte

    run = flyte.with_runcontext(mode="local").run
    assert inspect.iscoroutinefunction(getattr(run, "fn", None)), (
        "flyte's syncify wrapper no longer keeps the coroutine function as .fn: parallel local jobs fall back to "
        "one shared loop; update run_local_on_own_loop in _flyte_compat.py"
    )
