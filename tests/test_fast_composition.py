"""The value-only fast path composes exactly what Hydra composes (differential, hypothesis-generated)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from flyteplugins.hydra._compose import SweepComposer, make_config_loader, plan_grid_sweep

WALKTHROUGH_VALUES = {
    "training.epochs": st.integers(1, 500).map(str),
    "training.batch_size": st.sampled_from(["16", "32", "64", "128"]),
    "optimizer.lr": st.floats(1e-6, 1.0, allow_nan=False).map(lambda f: f"{f:.6g}"),
    "data.dataset": st.sampled_from(["imagenet", "cifar10", "'with space'", "mnist"]),
    "model.depth": st.integers(1, 200).map(str),
    "optimizer.weight_decay": st.sampled_from(["0.0", "1e-4", "null", "${optimizer.lr}"]),
}
STRUCTURED_VALUES = {
    "training.epochs": st.sampled_from(["1", "10", "abc", "3.5"]),
    "training.batch_size": st.integers(1, 512).map(str),
    "optimizer.lr": st.sampled_from(["0.1", "1e-3", "fast"]),
    "data.dataset": st.sampled_from(["imagenet", "cifar10"]),
}
CONSTANTS = ["+training.grad_clip=1.0", "~training.batch_size", "optimizer=sgd", "++data.shards=4", "model=vit"]


def comparable(cfg) -> dict:
    """The task's config plus what Hydra derives per job from its overrides."""
    return {
        "task": OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False) | {"hydra": None},
        "overrides": list(cfg.hydra.overrides.task),
        "override_dirname": cfg.hydra.job.override_dirname,
        "num": cfg.hydra.job.num,
    }


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
        cfg = loader.load_sweep_config(primary, job)
    except Exception as e:
        return type(e)
    OmegaConf.update(cfg, "hydra.job.num", num, force_add=True)
    return comparable(cfg)


def fast_or_error(composer, job, num):
    try:
        return comparable(composer.compose(job, num))
    except Exception as e:
        return type(e)


def check_differential(config_path, config_name, sweep, constants):
    loader = make_config_loader(config_path)
    try:
        plan = plan_grid_sweep(loader, config_name, [*constants, *sweep])
    except Exception:
        return
    composer = SweepComposer(loader, plan.primary)
    for num, job in enumerate(plan.job_overrides):
        assert fast_or_error(composer, job, num) == hydra_or_error(loader, plan.primary, job, num), job


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
    configs = [composer.compose(job, num) for num, job in enumerate(plan.job_overrides)]
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
