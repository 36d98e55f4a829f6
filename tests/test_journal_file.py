"""`flyte_runs.jsonl` as a file: each record is on disk-bound storage as soon as it is appended, and no handle leaks."""

from __future__ import annotations

import gc
import json
import os
import threading
import warnings

from flyteplugins.hydra._journal import Journal, read_journal
from flyteplugins.hydra._outcome import JobOutcome


def test_each_record_is_in_the_file_as_soon_as_it_is_appended(tmp_path):
    """The file stays open between appends, but every line is flushed: another reader (or a crash) sees it at once."""
    journal = Journal(tmp_path)
    journal.sweep(overrides=["x=1,2"])
    journal.jobs([JobOutcome(0, ["x=1"]), JobOutcome(1, ["x=2"])])
    journal.job(JobOutcome(1, ["x=2"], phase="RUNNING"))
    lines = (tmp_path / "flyte_runs.jsonl").read_text().splitlines()
    assert [json.loads(line).get("phase") for line in lines] == [None, "PENDING", "PENDING", "RUNNING"]
    assert read_journal(tmp_path).jobs[1]["phase"] == "RUNNING"
    journal.sync()


def test_sync_closes_the_file_and_a_later_append_opens_it_again(tmp_path):
    journal = Journal(tmp_path)
    journal.job(JobOutcome(0, ["x=1"]))
    journal.sync()
    assert journal._file is None
    journal.job(JobOutcome(0, ["x=1"], phase="SUCCEEDED"))
    journal.sync()
    assert read_journal(tmp_path).jobs[0]["phase"] == "SUCCEEDED"


def test_a_journal_dropped_without_sync_leaves_no_open_file(tmp_path, monkeypatch):
    """Some writers append and never sync (the cluster driver's records): dropping the journal closes its file.

    Also while its background fsync is still going (held here until the journal is dropped): that
    thread must not keep the journal alive.
    """
    fsync_started, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def held_fsync(fd: int) -> None:
        fsync_started.set()
        release.wait(10)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", held_fsync)
    journal = Journal(tmp_path)
    journal.job(JobOutcome(0, ["x=1"]))
    handle = journal._file
    assert handle is not None and not handle.closed
    assert fsync_started.wait(10), "the first append starts the background fsync"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del journal
            gc.collect()
        assert handle.closed
        assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    finally:
        release.set()
