"""Who a run is: the name, labels and annotation that tie a Flyte run to its sweep and job.

The client chooses every name, so a sweep's runs can be found on the cluster (by name, or by
the `hydra-sweep` label) even when the answer to a submission never came back, and a sweep can
be looked at again from another process, or another machine, with nothing but its id.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SWEEP_LABEL = "hydra-sweep"
JOB_LABEL = "hydra-job"
OVERRIDES_ANNOTATION = "hydra-overrides"
# Flyte run names are at most 30 characters, and Kubernetes-safe: lowercase letters, digits, dashes.
MAX_RUN_NAME = 30
SWEEP_ID = re.compile(r"[0-9a-f]{6,32}")


def new_sweep_id() -> str:
    """Eight hex characters: short enough for run names and labels, rare enough not to collide."""
    return secrets.token_hex(4)


def _name_part(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "job"


@dataclass(frozen=True)
class SweepIdentity:
    """A sweep's id (its label on every run) and the token this launch names its runs with.

    A rerun keeps the sweep's id, so all its runs stay findable under one label, but names its
    runs with a fresh token: run names are unique on a cluster, and the failed runs keep theirs.
    """

    sweep_id: str
    token: str

    @classmethod
    def new(cls) -> SweepIdentity:
        sweep_id = new_sweep_id()
        return cls(sweep_id, sweep_id)

    def rerun_of(self, header: Mapping[str, Any]) -> SweepIdentity:
        """The identity of a rerun of the sweep whose journal header is `header`."""
        return SweepIdentity(str(header.get("sweep_id") or self.sweep_id), self.token)

    def run_name(self, task_short_name: str, num: int | None, given: str | None) -> str | None:
        """`<task>-<token>-<job>` for sweep jobs (a given `name` gets `-<job>` instead); single runs keep `given`."""
        if num is None:
            return given
        if given:
            return f"{given}-{num}"
        tail = f"-{self.token}-{num}"
        return _name_part(task_short_name)[: MAX_RUN_NAME - len(tail)].rstrip("-") + tail

    def run_options(
        self, options: Mapping[str, Any], *, num: int | None, overrides: Sequence[str], name: str | None
    ) -> dict[str, Any]:
        """`flyte.with_runcontext` arguments for one job: the user's own, plus its name, labels and annotation.

        The user's labels and annotations are kept; ours win on the three keys this module owns.
        """
        merged = dict(options)
        if name:
            merged["name"] = name
        if num is None:
            return merged
        merged["labels"] = {**(options.get("labels") or {}), SWEEP_LABEL: self.sweep_id, JOB_LABEL: str(num)}
        annotations = dict(options.get("annotations") or {})
        merged["annotations"] = {**annotations, OVERRIDES_ANNOTATION: json.dumps(list(overrides))}
        return merged

    def header(self, *, mode: str, task: str | None) -> dict[str, Any]:
        return sweep_header(self.sweep_id, mode=mode, task=task)


def sweep_header(sweep_id: str | None, *, mode: str, task: str | None) -> dict[str, Any]:
    """What the journal header records so the sweep can be found and re-read later.

    `sweep_id` is None when the runs carry no labels (the launcher: the app submits them itself),
    and the runs are then found by the names the journal recorded.
    """
    project, domain = _project_and_domain() if mode == "remote" else (None, None)
    return {
        "sweep_id": sweep_id,
        "mode": mode,
        "task": task,
        "project": project,
        "domain": domain,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": time.time(),
    }


def _project_and_domain() -> tuple[str | None, str | None]:
    from ._flyte_compat import get_init_config_or_none

    config = get_init_config_or_none()
    if config is None:
        return None, None
    return config.project, config.domain
