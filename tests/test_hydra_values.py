"""`${hydra:...}` in a task config reads each job's own values, on every path a job can take.

Hydra resolves `${hydra:...}` when a value is read, against whichever job is current then. Flyte
jobs are read later or elsewhere: while the next local job is being prepared (`max_parallel`), or
on a cluster where no Hydra runs. Each job's config carries its own values instead.
"""

from __future__ import annotations

import json

from apps import tasks
from conftest import APPS, run_script

from flyteplugins.hydra import hydra_sweep
from flyteplugins.hydra._journal import read_journal

CONF = str(APPS / "conf")
REFS = [
    "+nested.num=${hydra:job.num}",
    "+nested.tag=job_${hydra:job.num}_${name}",
    "+nested.named=${hydra:job.override_dirname}",
    "+nested.out=${hydra:runtime.output_dir}",
]
NAMED = "hydra.job.config.override_dirname.exclude_keys=[nested.num,nested.tag,nested.named,nested.out]"


def expected(sweep_dir, num: int, x: int) -> dict:
    return {"num": num, "tag": f"job_{num}_base", "named": f"x={x}", "out": str(sweep_dir / str(num))}


def received(value: str) -> dict:
    nested = json.loads(value)["nested"]
    return {key: nested[key] for key in ("num", "tag", "named", "out")}


def sweep(tmp_path, **kwargs):
    overrides = ["x=1,2,3,4", *REFS, NAMED, f"hydra.sweep.dir={tmp_path / 's'}"]
    return hydra_sweep(tasks.dump, config_path=CONF, config_name="app", overrides=overrides, **kwargs)


def test_each_local_job_reads_its_own_hydra_values(tmp_path):
    results = sweep(tmp_path, mode="local")
    assert [received(r.value) for r in results] == [expected(tmp_path / "s", n, n + 1) for n in range(4)]


def test_parallel_local_jobs_read_their_own_hydra_values(tmp_path):
    """Jobs prepared while others run (the next job is Hydra's current one by then)."""
    results = sweep(tmp_path, mode="local", max_parallel=2)
    assert [received(r.value) for r in results] == [expected(tmp_path / "s", n, n + 1) for n in range(4)]


def test_remote_jobs_get_their_hydra_values_resolved_before_shipping(flyte_loopback, tmp_path):
    """No Hydra runs on the cluster: `${hydra:...}` is resolved on the client, other interpolations are kept."""
    results = sweep(tmp_path, mode="remote")
    assert [received(r.value) for r in results] == [expected(tmp_path / "s", n, n + 1) for n in range(4)]


def test_launcher_remote_jobs_get_their_own_hydra_values(flyte_loopback, tmp_path):
    proc = run_script(
        APPS / "hydra_app.py",
        "--multirun",
        "hydra/launcher=flyte",
        "+task=dump",
        "x=1,2",
        *REFS,
        NAMED,
        f"hydra.sweep.dir={tmp_path / 's'}",
        cwd=APPS.parent,
        env={"FLYTECTL_CONFIG": str(flyte_loopback.config_path)},
    )
    assert proc.returncode == 0, proc.stderr
    jobs = read_journal(tmp_path / "s").jobs
    own = [{**expected(tmp_path / "s", n, n + 1), "named": f"+task=dump,x={n + 1}"} for n in range(2)]
    assert [received(jobs[n]["result"]) for n in range(2)] == own


def test_cli_jobs_read_their_own_hydra_values(tmp_path):
    from cli_support import TASKS
    from cli_support import hydra_run as cli_run

    refs = [arg for ref in REFS for arg in ("--cfg", ref)]
    result = cli_run(
        "--local", "--multirun", "--config-path", CONF, "--config-name", "app", TASKS, "dump",
        "--hydra-override", f"hydra.sweep.dir={tmp_path / 's'}", "--hydra-override", NAMED, "--cfg", "x=1,2", *refs,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    jobs = read_journal(tmp_path / "s").jobs
    assert [received(jobs[n]["result"]) for n in range(2)] == [expected(tmp_path / "s", n, n + 1) for n in range(2)]
