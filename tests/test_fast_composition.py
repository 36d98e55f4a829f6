"""The value-only fast path composes exactly what Hydra composes (differential, hypothesis-generated).

Hydra's side is its own composition, numbered as a launcher numbers it, made current the way Hydra's
`run_job` makes a sweep job current (`HydraConfig.set_config`, then `hydra.runtime.output_dir`).
"""

from __future__ import annotations

import copy
import os

import pytest
from hydra.core.hydra_config import HydraConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf, open_dict, read_write

from flyteplugins.hydra._compose import SweepComposer, make_config_loader, plan_grid_sweep, task_config

WALKTHROUGH_VALUES = {
    "training.epochs": st.integers(1, 500).map(str),
    "training.batch_size": st.sampled_from(["16", "32", "64", "128"]),
    "optimizer.lr": st.floats(1e-6, 1.0, allow_nan=False).map(lambda f: f"{f:.6g}"),
    "data.dataset": st.sampled_from(["imagenet", "cifar10", "'with space'", "mnist", "set_${hydra:job.id}"]),
    "model.depth": st.integers(1, 200).map(str),
    "optimizer.weight_decay": st.sampled_from(["0.0", "1e-4", "null", "${optimizer.lr}"]),
    "model": st.sampled_from(["resnet", "vit"]),
    "optimizer": st.sampled_from(["adam", "sgd"]),
}
STRUCTURED_VALUES = {
    "training.epochs": st.sampled_from(["1", "10", "abc", "3.5"]),
    "training.batch_size": st.integers(1, 512).map(str),
    "optimizer.lr": st.sampled_from(["0.1", "1e-3", "fast"]),
    "data.dataset": st.sampled_from(["imagenet", "cifar10"]),
}
CONSTANTS = [
    "+training.grad_clip=1.0",
    "~training.batch_size",
    "optimizer=sgd",
    "++data.shards=4",
    "model=vit",
    "+data.job=job_${hydra:job.num}",
    "+data.out=${hydra:runtime.output_dir}",
    "+data.named=${hydra:job.override_dirname}",
    "+data.mixed=${data.dataset}/${hydra:job.num}/${optimizer.lr}",
    "+data.nested='${oc.select:data.nowhere,${hydra:job.override_dirname}}'",
    "+data.choices=${hydra:runtime.choices}",
    "hydra.sweep.subdir=${data.dataset}_${hydra.job.num}",
]
HYDRA_PATHS = ["job.num", "job.id", "job.override_dirname", "sweep.subdir", "runtime.output_dir", "runtime.choices"]


def as_written(task: dict, hydra_side: dict) -> dict:
    """`task` as written, with each value that names `${hydra:...}` on Hydra's side folded to one marker.

    Hydra keeps `${hydra:...}` as written and resolves it whenever it is read; the SDK writes each
    job's own values in its place once the job is current (what both resolve to is compared as well).
    """
    if isinstance(task, dict) and isinstance(hydra_side, dict):
        return {k: as_written(v, hydra_side.get(k)) for k, v in task.items()}
    if isinstance(task, list) and isinstance(hydra_side, list) and len(task) == len(hydra_side):
        return [as_written(v, h) for v, h in zip(task, hydra_side)]
    return "<hydra value>" if isinstance(hydra_side, str) and "hydra:" in hydra_side else task


def comparable(task) -> dict:
    """What a task sees of the current job: its config (as written and resolved) and Hydra's node for it."""
    hydra = HydraConfig.get()
    return {
        "task": OmegaConf.to_container(task, resolve=False, throw_on_missing=False),
        "resolved": OmegaConf.to_container(task, resolve=True, throw_on_missing=False),
        "hydra": OmegaConf.to_container(hydra, resolve=False, throw_on_missing=False),
        "hydra_resolved": {path: OmegaConf.select(hydra, path, throw_on_missing=False) for path in HYDRA_PATHS},
        "log_file": hydra.job_logging.handlers.file.filename,
    }


def hydra_job(cfg, num):
    """Hydra's own steps for a launcher's job `num`: number it, make it current, set its output directory."""
    with open_dict(cfg):
        cfg.hydra.job.id = str(num)
        cfg.hydra.job.num = num
    HydraConfig.instance().set_config(cfg)
    output_dir = os.path.join(str(OmegaConf.select(cfg, "hydra.sweep.dir")), str(cfg.hydra.sweep.subdir))
    with read_write(cfg.hydra.runtime), open_dict(cfg.hydra.runtime):
        cfg.hydra.runtime.output_dir = os.path.abspath(output_dir)
    HydraConfig.instance().set_config(cfg)
    task = copy.deepcopy(cfg)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return task


def sweep_case(values: dict):
    keys = st.lists(st.sampled_from(sorted(values)), min_size=1, max_size=3, unique=True)
    return keys.flatmap(
        lambda ks: st.tuples(
            st.tuples(*[st.lists(values[k], min_size=1, max_size=2, unique=True) for k in ks]).map(
                lambda vals, ks=ks: [f"{k}={','.join(v)}" for k, v in zip(ks, vals)]
            ),
            st.lists(st.sampled_from(CONSTANTS), max_size=2, unique=True),
        )
    )


def hydra_or_error(loader, primary, job, num):
    try:
        return comparable(hydra_job(loader.load_sweep_config(primary, job), num))
    except Exception as e:
        return type(e)


def fast_or_error(composer, job, num):
    try:
        composed = composer.compose(job, num)
        task = task_config(composed)
        seen = comparable(task)
        # The job's own copy of its hydra node (for JobReturn.hydra_cfg and .hydra/hydra.yaml) is the same node.
        own = OmegaConf.to_container(composed.hydra_config().hydra, resolve=False, throw_on_missing=False)
        assert own == seen["hydra"]
        assert "${hydra:" not in OmegaConf.to_yaml(task)
        return seen, task
    except Exception as e:
        return type(e), None


def check_differential(config_path, config_name, sweep, constants):
    loader = make_config_loader(config_path)
    try:
        plan = plan_grid_sweep(loader, config_name, [*constants, *sweep])
    except Exception:
        return
    composer = SweepComposer(loader, plan.primary, plan.parsed)
    jobs = list(enumerate(plan.job_overrides))
    fast = [fast_or_error(composer, job, num) for num, job in jobs]
    for (num, job), (seen, task) in zip(jobs, fast):
        expected = hydra_or_error(loader, plan.primary, job, num)
        got = seen
        if isinstance(seen, dict) and isinstance(expected, dict):
            got = {**seen, "task": as_written(seen["task"], expected["task"])}
            expected = {**expected, "task": as_written(expected["task"], expected["task"])}
        assert got == expected, job
        if task is not None:
            # Read again once other jobs have been current: still this job's own values.
            assert OmegaConf.to_container(task, resolve=True, throw_on_missing=False) == seen["resolved"], job


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=sweep_case(WALKTHROUGH_VALUES))
def test_fast_path_matches_hydra_on_the_walkthrough(in_examples, case):
    sweep, constants = case
    check_differential("conf", "training", sweep, constants)


@settings(max_examples=10, deadline=None)
@given(case=sweep_case(STRUCTURED_VALUES))
def test_fast_path_matches_hydra_on_a_structured_config(case):
    import train  # noqa: F401  (registers structured_training)

    sweep, _ = case
    check_differential(None, "structured_training", sweep, [])


def test_fast_path_is_taken_for_value_sweeps(in_examples, monkeypatch):
    loader = make_config_loader("conf")
    plan = plan_grid_sweep(loader, "training", ["optimizer.lr=0.1,0.2,0.3", "training.epochs=1,2"])
    composer = SweepComposer(loader, plan.primary)
    calls = []
    original = loader.load_sweep_config
    monkeypatch.setattr(loader, "load_sweep_config", lambda *a: calls.append(a) or original(*a))
    configs = [composer.compose(job, num).task for num, job in enumerate(plan.job_overrides)]
    assert len(calls) == 1
    assert [(c.optimizer.lr, c.training.epochs) for c in configs] == [
        (0.1, 1),
        (0.1, 2),
        (0.2, 1),
        (0.2, 2),
        (0.3, 1),
        (0.3, 2),
    ]


@pytest.mark.parametrize("sweep", [["model=resnet,vit"], ["+training.extra=1,2"], ["++training.epochs=1,2"]])
def test_group_and_structural_sweeps_go_through_hydra(in_examples, monkeypatch, sweep):
    loader = make_config_loader("conf")
    plan = plan_grid_sweep(loader, "training", sweep)
    composer = SweepComposer(loader, plan.primary)
    calls = []
    original = loader.load_sweep_config
    monkeypatch.setattr(loader, "load_sweep_config", lambda *a: calls.append(a) or original(*a))
    for num, job in enumerate(plan.job_overrides):
        composer.compose(job, num)
    assert len(calls) == len(plan.job_overrides)


def test_hydra_config_inside_a_local_task_is_the_jobs_own(in_examples, tmp_path):
    import json

    from apps import tasks

    from flyteplugins.hydra import hydra_sweep

    results = hydra_sweep(
        tasks.hydra_view,
        config_path="conf",
        config_name="training",
        overrides=[
            "optimizer.lr=0.1,0.2",
            "+data.job=job_${hydra:job.num}",
            f"hydra.sweep.dir={tmp_path}",
            "hydra.sweep.subdir=${data.dataset}_${hydra.job.num}",
        ],
        mode="local",
    )
    seen = [json.loads(r.value) for r in results]
    assert [(s["num"], s["subdir"], s["output_dir"]) for s in seen] == [
        (0, "imagenet_0", str(tmp_path / "imagenet_0")),
        (1, "imagenet_1", str(tmp_path / "imagenet_1")),
    ]
    assert [(s["cfg"]["data"]["job"], s["cfg"]["optimizer"]["lr"]) for s in seen] == [("job_0", 0.1), ("job_1", 0.2)]


@pytest.mark.parametrize(
    "sweep",
    [
        ["training.epochs=range(0,5)", "optimizer.lr=0.1,1e-3,true,null,abc,'with space',${x},nan"],
        ["model.depth=range(0,1,0.25)", "+training.extra=a,b", "data.dataset=shuffle(a,b,c)"],
    ],
)
def test_swept_lines_known_from_the_plan_are_what_parsing_them_gives(in_examples, sweep):
    """The plan hands the composer each plain swept element's override, so no job line is parsed again."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    loader = make_config_loader("conf")
    plan = plan_grid_sweep(loader, "training", sweep)
    parser = OverridesParser.create(config_loader=loader)
    assert plan.parsed
    for line, override in plan.parsed.items():
        assert override == parser.parse_override(line), line
    lines = {line for job in plan.job_overrides for line in job}
    assert set(plan.parsed) <= lines
    assert not any(line.startswith("data.dataset=") for line in plan.parsed)  # shuffled: parsed per job
