"""The fault matrix: every RPC a remote sweep makes x every way it can go wrong, against the loopback plane.

Each cell runs one 2-job sweep with one fault injected and checks three things agree: what the sweep
reports (outcomes and summary line), what its journal holds, and what the control plane says about
each run (and that nothing is left running). Faults follow flyte 2.12.1's client: `unavailable` is
retried 3 times, so 4 faults outlast one call's retries (8 for the RPCs both jobs make at once, so
each job's call runs out); a dropped connection is retried once; latency cells
hold each answer `LATENCY` seconds and are marked `slow`.
"""

from __future__ import annotations

import re

import pytest
from apps import tasks
from conftest import APPS

from flyteplugins.hydra import SweepFailedError, hydra_sweep
from flyteplugins.hydra._journal import read_journal

CONF = str(APPS / "conf")
# Longer than every interval the engine and the SDK tick at while an answer is pending (journal sync
# 0.25 s, worker poll 0.2 s, abort poll 0.5 s, result polls and SDK retry backoff up to 2 s), so each of
# them runs while the answer is late, and well inside the 10 s abort deadline. 5 s tested nothing more
# and cost 3 s more per held answer, several answers per cell.
LATENCY = 2.5

# How each fault is injected: (code, times) or a latency in seconds.
FAULTS = {
    "unavailable": ("unavailable", 4),
    "permission_denied": ("permission_denied", 1),
    "dropped": ("drop", 1),
    "latency": LATENCY,
}

OK = {0: "SUCCEEDED", 1: "SUCCEEDED"}
ONE_UNREAD = {0: "SUCCEEDED", 1: "SUCCEEDED, result unread"}  # either job: both read their results at once
BOTH_UNREAD = {0: "SUCCEEDED, result unread", 1: "SUCCEEDED, result unread"}
# Made once per sweep, or by job 0 before job 1 starts: 4 faults exhaust job 0's call only.
SUBMISSION_RPCS = ("CreateRun", "UploadInputs", "CreateUploadLocation", "SignedUrlPut", "AbortRun")
FIRST_NOT_SUBMITTED = {0: "FAILED", 1: "SUCCEEDED"}
FAIL_FAST_ABORTS = {0: "FAILED", 1: "ABORTED"}

# Per (rpc, fault): the phase each job ends in. A submission RPC (CreateRun, UploadInputs, the bundle's
# CreateUploadLocation and PUT) that fails beyond retrying fails job 0 only, which is submitted first;
# failures to follow a run or read its result never fail it (an unread result stays SUCCEEDED, shown
# with `unread`); AbortRun is exercised by fail_fast stopping job 1 after job 0 fails.
EXPECTED: dict[tuple[str, str], dict[int, str]] = {
    ("CreateRun", "unavailable"): FIRST_NOT_SUBMITTED,
    ("CreateRun", "permission_denied"): FIRST_NOT_SUBMITTED,
    ("UploadInputs", "unavailable"): FIRST_NOT_SUBMITTED,
    ("UploadInputs", "permission_denied"): FIRST_NOT_SUBMITTED,
    ("CreateUploadLocation", "unavailable"): FIRST_NOT_SUBMITTED,
    ("CreateUploadLocation", "permission_denied"): FIRST_NOT_SUBMITTED,
    ("SignedUrlPut", "unavailable"): FIRST_NOT_SUBMITTED,
    ("SignedUrlPut", "permission_denied"): FIRST_NOT_SUBMITTED,
    ("GetRunDetails", "unavailable"): BOTH_UNREAD,
    ("GetRunDetails", "permission_denied"): ONE_UNREAD,
    ("GetActionData", "unavailable"): BOTH_UNREAD,
    ("GetActionData", "permission_denied"): ONE_UNREAD,
    ("AbortRun", "unavailable"): FAIL_FAST_ABORTS,
    ("AbortRun", "permission_denied"): FAIL_FAST_ABORTS,
    ("AbortRun", "dropped"): FAIL_FAST_ABORTS,
    ("AbortRun", "latency"): FAIL_FAST_ABORTS,
}
RPCS = [
    "CreateRun",
    "UploadInputs",
    "CreateUploadLocation",
    "SignedUrlPut",
    "WatchActionDetails",
    "GetRunDetails",
    "GetActionData",
    "AbortRun",
]
CELLS = [
    pytest.param(rpc, fault, id=f"{rpc}-{fault}", marks=[pytest.mark.slow] if fault == "latency" else [])
    for rpc in RPCS
    for fault in FAULTS
]


def _inject(server, rpc: str, fault: str) -> None:
    how = FAULTS[fault]
    if isinstance(how, float):
        server.set_latency(how, rpc=rpc)
    else:
        code, times = how
        if code == "unavailable" and rpc not in SUBMISSION_RPCS:
            times *= 2
        server.inject_fault(rpc, code=code, times=times)


def _sweep(rpc: str, sweep_dir) -> list:
    """The cell's sweep; outcomes whether it raised or not."""
    if rpc == "AbortRun":
        task, overrides, kwargs = tasks.fails_or_sleeps, ["x=2,1", "+sleep=60"], {"fail_fast": True}
    else:
        task, overrides, kwargs = tasks.scaled, ["x=1,2"], {}
    try:
        results = hydra_sweep(
            task,
            config_path=CONF,
            config_name="app",
            mode="remote",
            overrides=[*overrides, f"hydra.sweep.dir={sweep_dir}"],
            **kwargs,
        )
    except SweepFailedError as e:
        return e.outcomes
    return [r.run for r in results]


def _ending(record: dict) -> str:
    if record["phase"] == "SUCCEEDED" and record["error"]:
        assert "its outputs could not be read" in record["error"] and record["result"] is None, record
        return "SUCCEEDED, result unread"
    return record["phase"]


def _summary_line(out: str) -> str:
    return next(line for line in out.splitlines() if re.match(r"\d+ succeeded, \d+ failed", line))


def _summary_of(endings: list[str]) -> str:
    succeeded = sum(e.startswith("SUCCEEDED") for e in endings)
    line = f"{succeeded} succeeded, {endings.count('FAILED')} failed"
    if endings.count("ABORTED"):
        line += f", {endings.count('ABORTED')} aborted"
    if "SUCCEEDED, result unread" in endings:
        line += f", {endings.count('SUCCEEDED, result unread')} result(s) not read yet"
    return line


@pytest.mark.parametrize(("rpc", "fault"), CELLS)
def test_fault_is_reported_journaled_and_leaves_nothing_running(flyte_loopback, tmp_path, capsys, rpc, fault):
    sweep_dir = tmp_path / "sweep"
    _inject(flyte_loopback, rpc, fault)
    _sweep(rpc, sweep_dir)
    out = capsys.readouterr().out
    journal = read_journal(sweep_dir).jobs
    plane = flyte_loopback.runs()

    assert flyte_loopback.still_running() == []
    for num, record in journal.items():
        on_plane = plane.get(record["run_name"])
        if on_plane is None:
            assert record["phase"] == "FAILED" and record["url"] is None, record
        else:
            assert record["phase"] == on_plane, (record, on_plane)
    expected = EXPECTED.get((rpc, fault), OK)
    ended = {n: _ending(r) for n, r in journal.items()}
    if expected is ONE_UNREAD:
        assert sorted(ended.values()) == sorted(expected.values()), ended
    else:
        assert ended == expected
    endings = list(expected.values())
    assert _summary_line(out) == _summary_of(endings)
