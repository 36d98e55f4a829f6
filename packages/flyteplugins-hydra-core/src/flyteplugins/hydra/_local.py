"""Local scheduling: jobs run in this process, one after another or a capped number at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._flyte_compat import local_run_url, one_line_task_failures, release_local_runners
from ._mode import forced_local
from ._results import finished_result
from ._schedule import rolling, startable
from ._workers import DaemonWorkers, WorkItem

if TYPE_CHECKING:
    from ._execute import PlannedJob
    from ._options import LaunchOptions
    from ._tracker import Tracker


def _start(job: PlannedJob, prepared: Any) -> Any:
    with forced_local():
        return finished_result(job.start(prepared))


def _one_at_a_time(jobs: Sequence[PlannedJob], tracker: Tracker) -> None:
    for item in startable(jobs, tracker):
        tracker.running(item.outcome, url=local_run_url(item.outcome.run_name))
        try:
            result = _start(item.job, item.prepared)
        except Exception as e:
            tracker.failed(item.outcome, e)
        else:
            tracker.succeeded(item.outcome, result)
        finally:
            release_local_runners()


def _capped(jobs: Sequence[PlannedJob], tracker: Tracker, limit: int) -> None:
    def start(item: WorkItem) -> bool:
        tracker.running(item.outcome, url=local_run_url(item.outcome.run_name))
        return True

    with DaemonWorkers(limit, lambda item: _start(item.job, item.prepared), "flyte-hydra-local") as workers:
        rolling(jobs, tracker, workers, limit, start)


def run_local(jobs: Sequence[PlannedJob], tracker: Tracker, options: LaunchOptions) -> None:
    limit = options.parallel or 1
    with one_line_task_failures():
        if limit == 1:
            _one_at_a_time(jobs, tracker)
        else:
            _capped(jobs, tracker, limit)
