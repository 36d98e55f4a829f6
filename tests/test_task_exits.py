"""Every way a local task can leave is that job's failure, with its cause; the other jobs go on."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from apps import exits
from conftest import APPS, run_script

from flyteplugins.hydra import JobFailedError, SweepFailedError, hydra_run, hydra_sweep

CONF = str(APPS / "conf")
BOUND = 60  # seconds; a sweep of three trivial jobs takes a few


def bounded(call: Any, **kwargs: Any) -> Any:
    """Run `call(**kwargs)` on a thread and give up after `BOUND` seconds: a hang fails the test, not the run."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call(**kwargs)
        except BaseException as e:
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), f"{getattr(call, '__name__', call)} hung for {BOUND}s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def failed_sweep(task: Any, tmp_path, *overrides: str, **options: Any) -> SweepFailedError:
    with pytest.raises(SweepFailedError) as info:
        bounded(
            hydra_sweep,
            task=task,
            config_path=CONF,
            config_name="app",
            mode="local",
            overrides=["x=1,2,3", f"hydra.sweep.dir={tmp_path / 'sweep'}", *overrides],
            **options,
        )
    return info.value


def by_num(error: SweepFailedError) -> dict[int, Any]:
    return {o.num: o for o in error.outcomes}


def test_sys_exit_in_a_sync_task_fails_that_job_and_the_others_run(tmp_path):
    jobs = by_num(failed_sweep(exits.exits_on_two, tmp_path))
    assert [jobs[0].result.value, jobs[2].result.value] == [1.0, 3.0]
    assert jobs[1].phase == "FAILED"
    assert "sys.exit(3)" in str(jobs[1].error)


def test_sys_exit_in_an_async_task_fails_that_job_and_the_others_run(tmp_path):
    jobs = by_num(failed_sweep(exits.async_exits_on_two, tmp_path))
    assert [jobs[0].ok, jobs[1].ok, jobs[2].ok] == [True, False, True]
    assert "sys.exit('giving up')" in str(jobs[1].error)


def test_keyboard_interrupt_raised_inside_a_task_is_that_jobs_failure_not_a_ctrl_c(tmp_path):
    jobs = by_num(failed_sweep(exits.interrupts_on_two, tmp_path))
    assert [jobs[0].ok, jobs[1].ok, jobs[2].ok] == [True, False, True]
    assert jobs[1].phase == "FAILED"
    assert "KeyboardInterrupt" in str(jobs[1].error)


def test_any_other_base_exception_raised_by_a_task_is_that_jobs_failure(tmp_path):
    jobs = by_num(failed_sweep(exits.escapes_on_two, tmp_path, max_parallel=2))
    assert [jobs[0].ok, jobs[1].ok, jobs[2].ok] == [True, False, True]
    assert "Escape(out of here), a BaseException that is not an Exception" in str(jobs[1].error)


def test_a_job_exiting_beside_a_running_sibling_with_max_parallel_2_leaves_the_sibling_healthy(tmp_path):
    signals = tmp_path / "signals"
    signals.mkdir()
    error = failed_sweep(exits.exits_beside_sibling, tmp_path, f"+signals={signals}", max_parallel=2)
    jobs = by_num(error)
    assert jobs[0].result.value == 1.0
    assert "sys.exit(4)" in str(jobs[1].error)
    assert jobs[2].result.value == 3.0


def test_os_exit_in_a_process_the_task_started_fails_that_job_with_the_cause(tmp_path):
    jobs = by_num(failed_sweep(exits.worker_dies_on_two, tmp_path, max_parallel=2))
    assert [jobs[0].result.value, jobs[2].result.value] == [1.0, 3.0]
    assert "BrokenProcessPool" in str(jobs[1].error) or "terminated abruptly" in str(jobs[1].error)


def test_a_child_task_calling_sys_exit_fails_its_parent_run(tmp_path):
    with pytest.raises(JobFailedError, match=r"sys\.exit\(3\)"):
        bounded(
            hydra_run,
            task=exits.calls_exiting_child,
            config_path=CONF,
            config_name="app",
            overrides=["x=2"],
            mode="local",
        )


def test_the_journal_records_the_exit_as_the_jobs_error(tmp_path):
    from flyteplugins.hydra._journal import read_journal

    failed_sweep(exits.exits_on_two, tmp_path)
    record = read_journal(tmp_path / "sweep").jobs[1]
    assert record["phase"] == "FAILED"
    assert "sys.exit(3)" in record["error"]


def test_launcher_sweep_with_an_exiting_job_finishes_and_reports_it(tmp_path):
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=local",
        "hydra.launcher.max_parallel=2",
        "+task=exits.exits_on_two",
        "x=1,2,3",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
        timeout=BOUND,
    )
    assert proc.returncode != 0
    assert "2 succeeded, 1 failed" in proc.stdout
    assert "sys.exit(3)" in proc.stderr


def test_plain_launcher_run_of_an_exiting_task_fails_instead_of_hanging(tmp_path):
    proc = run_script(
        APPS / "hydra_app.py",
        "hydra/launcher=flyte",
        "hydra.launcher.mode=local",
        "+task=exits.exits_on_two",
        "x=2",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        timeout=BOUND,
    )
    assert proc.returncode != 0
    assert "sys.exit(3)" in proc.stderr


def test_flyte_still_runs_local_tasks_through_the_guarded_run_task():
    from flyte._internal.runtime import taskrunner

    from flyteplugins.hydra._flyte_compat import contain_task_exits

    contain_task_exits()
    assert getattr(taskrunner.run_task, "_flyte_hydra_contained", False), (
        "flyte._internal.runtime.taskrunner.run_task moved or changed: update contain_task_exits in _flyte_compat.py"
    )
