"""Hydra's per-job output folder on the SDK and `flyte hydra run`: snapshots, job log, logging settings, run URL."""

from __future__ import annotations

import logging
import string
from pathlib import Path

import pytest
import yaml
from apps import tasks
from cli_support import APP_CONF, ROOT, TASKS
from cli_support import hydra_run as cli_run
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from flyteplugins.hydra import hydra_run, hydra_sweep
from flyteplugins.hydra._job_outputs import URL_FILE

CONF = str(APP_CONF)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hydra's default folders (outputs/..., multirun/...) land in a temp dir, not in the repository."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read_yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text())


def snapshots(job_dir: Path) -> dict[str, object]:
    return {name: read_yaml(job_dir / ".hydra" / f"{name}.yaml") for name in ("config", "hydra", "overrides")}


# -- local SDK -------------------------------------------------------------------------------


def test_each_sweep_job_keeps_its_own_config_and_overrides(tmp_path):
    sweep = tmp_path / "sweep"
    hydra_sweep(
        tasks.dump, config_path=CONF, config_name="app", overrides=["x=1,2", f"hydra.sweep.dir={sweep}"], mode="local"
    )
    for num, x in enumerate((1, 2)):
        saved = snapshots(sweep / str(num))
        assert saved["config"] == {"x": x, "name": "base", "nested": {"a": 1, "b": "two"}}
        assert saved["overrides"] == [f"x={x}"]
        job = saved["hydra"]["hydra"]["job"]
        assert (job["num"], job["id"], job["override_dirname"]) == (num, str(num), f"x={x}")
        assert saved["hydra"]["hydra"]["runtime"]["output_dir"] == str(sweep / str(num))
        assert (sweep / str(num) / "dump.log").is_file()


def test_later_jobs_hydra_yaml_is_what_hydra_itself_composes(tmp_path):
    """Jobs after the first get `hydra.yaml` from the first one's text; it must equal Hydra's own node."""
    from flyteplugins.hydra._compose import make_config_loader, plan_grid_sweep

    overrides = ["x=1,2,3", "name=a,b", f"hydra.sweep.dir={tmp_path / 's'}"]
    hydra_sweep(tasks.dump, config_path=CONF, config_name="app", overrides=overrides, mode="local")
    loader = make_config_loader(CONF)
    plan = plan_grid_sweep(loader, "app", overrides)
    for num, job_overrides in enumerate(plan.job_overrides):
        cfg = loader.load_sweep_config(plan.primary, list(job_overrides))
        cfg.hydra.job.num, cfg.hydra.job.id = num, str(num)
        cfg.hydra.runtime.output_dir = str(tmp_path / "s" / str(num))
        expected = OmegaConf.to_container(OmegaConf.masked_copy(cfg, "hydra"), resolve=False)
        assert read_yaml(tmp_path / "s" / str(num) / ".hydra" / "hydra.yaml") == expected, num


def test_sweep_subdir_names_each_jobs_folder(tmp_path):
    overrides = ["x=1,2", f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.sweep.subdir=x_${x}_job_${hydra.job.num}"]
    hydra_sweep(tasks.dump, config_path=CONF, config_name="app", overrides=overrides, mode="local")
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir()) == ["x_1_job_0", "x_2_job_1"]
    assert snapshots(tmp_path / "sweep" / "x_2_job_1")["overrides"] == ["x=2"]


def test_a_single_run_uses_hydra_run_dir(tmp_path):
    hydra_run(tasks.dump, config_path=CONF, config_name="app", overrides=["x=5", "hydra.run.dir=single"], mode="local")
    saved = snapshots(tmp_path / "single")
    assert saved["config"]["x"] == 5 and saved["overrides"] == ["x=5"]
    assert (tmp_path / "single" / "dump.log").is_file()


def test_a_single_run_defaults_to_hydras_outputs_folder(tmp_path):
    hydra_run(tasks.dump, config_path=CONF, config_name="app", mode="local")
    (job_dir,) = (tmp_path / "outputs").glob("*/*")
    assert snapshots(job_dir)["config"]["x"] == 1


def test_output_subdir_null_writes_no_snapshots(tmp_path):
    overrides = ["x=1,2", f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.output_subdir=null"]
    hydra_sweep(tasks.logs, config_path=CONF, config_name="app", overrides=overrides, mode="local")
    assert not list((tmp_path / "sweep").rglob("*.yaml"))
    assert (tmp_path / "sweep" / "1" / "logs.log").is_file()  # as in Hydra: the job log is job_logging's to turn off


def test_output_subdir_renames_the_snapshot_folder(tmp_path):
    hydra_run(
        tasks.dump,
        config_path=CONF,
        config_name="app",
        overrides=["hydra.run.dir=r", "hydra.output_subdir=snap"],
        mode="local",
    )
    assert read_yaml(tmp_path / "r" / "snap" / "overrides.yaml") == []  # hydra.* overrides are Hydra's, not the task's
    assert not (tmp_path / "r" / ".hydra").exists()


def test_the_job_log_holds_what_the_task_logged(tmp_path):
    hydra_sweep(
        tasks.logs,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2", f"hydra.sweep.dir={tmp_path / 's'}"],
        mode="local",
    )
    for num, x in enumerate((1, 2)):
        text = (tmp_path / "s" / str(num) / "logs.log").read_text()
        assert f"info line for x={x}" in text and "debug line" not in text
        assert f"x={3 - x}" not in text  # each job's lines in its own log


def test_hydra_verbose_reaches_the_job_log(tmp_path):
    hydra_run(
        tasks.logs,
        config_path=CONF,
        config_name="app",
        overrides=["hydra.run.dir=r", "hydra.verbose=apps.tasks"],
        mode="local",
    )
    assert "debug line for x=1" in (tmp_path / "r" / "logs.log").read_text()


def test_job_logging_disabled_writes_no_log_in_a_single_run(tmp_path):
    hydra_run(
        tasks.logs,
        config_path=CONF,
        config_name="app",
        overrides=["hydra.run.dir=r", "hydra/job_logging=disabled"],
        mode="local",
    )
    assert not list((tmp_path / "r").glob("*.log"))
    assert snapshots(tmp_path / "r")["config"]["x"] == 1


def test_a_sweep_through_hydras_runtime_keeps_the_layout(tmp_path):
    """A `hydra/...` override makes Hydra's own runtime drive the sweep; its jobs get the same folders."""
    overrides = ["x=1,2", f"hydra.sweep.dir={tmp_path / 's'}", "hydra/job_logging=disabled"]
    results = hydra_sweep(tasks.logs, config_path=CONF, config_name="app", overrides=overrides, mode="local")
    assert [r.value for r in results] == [1.0, 2.0]
    for num, x in enumerate((1, 2)):
        assert snapshots(tmp_path / "s" / str(num))["overrides"] == [f"x={x}"]
    assert not list((tmp_path / "s").rglob("*.log"))


def test_python_logging_is_given_back_after_the_launch(tmp_path):
    root = logging.getLogger()
    before = (root.level, list(root.handlers), logging.getLogger("apps.tasks").level)
    hydra_run(
        tasks.logs,
        config_path=CONF,
        config_name="app",
        overrides=["hydra.run.dir=r", "hydra.verbose=true"],
        mode="local",
    )
    assert (root.level, list(root.handlers), logging.getLogger("apps.tasks").level) == before


# -- flyte hydra run -------------------------------------------------------------------------


def test_cli_multirun_writes_each_jobs_folder_where_the_docs_say(tmp_path):
    result = cli_run(
        "--local", "--multirun", "--config-path", APP_CONF, "--config-name", "app",
        TASKS, "logs",
        "--hydra-override", f"hydra.sweep.dir={tmp_path / 'sweep1'}",
        "--hydra-override", "hydra.sweep.subdir=${hydra.job.num}",
        "--cfg", "x=1,2,3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for num in range(3):
        saved = snapshots(tmp_path / "sweep1" / str(num))
        assert saved["config"]["x"] == num + 1
        assert f"info line for x={num + 1}" in (tmp_path / "sweep1" / str(num) / "logs.log").read_text()


def test_cli_single_run_uses_hydra_run_dir(tmp_path):
    result = cli_run(
        "--local", "--config-path", APP_CONF, "--config-name", "app", TASKS, "logs",
        "--hydra-override", "hydra.run.dir=./outputs/exp1", "--cfg", "x=7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert snapshots(tmp_path / "outputs" / "exp1")["overrides"] == ["x=7"]


# -- remote ----------------------------------------------------------------------------------


def test_remote_jobs_folders_are_on_this_machine_and_hold_the_run_url(flyte_loopback, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the code bundle is made from the current folder: the tests' own
    sweep = tmp_path / "remote"
    results = hydra_sweep(
        tasks.scaled,
        config_path=CONF,
        config_name="app",
        overrides=["x=1,2", f"hydra.sweep.dir={sweep}"],
        mode="remote",
    )
    for num, result in enumerate(results):
        assert (sweep / str(num) / URL_FILE).read_text() == f"{result.url}\n"
        assert result.url.startswith(flyte_loopback.endpoint)
        assert snapshots(sweep / str(num))["overrides"] == [f"x={num + 1}"]


def test_local_jobs_keep_no_url_file(tmp_path):
    hydra_run(tasks.dump, config_path=CONF, config_name="app", overrides=["hydra.run.dir=r"], mode="local")
    assert not (tmp_path / "r" / URL_FILE).exists()


# -- @hydra.main --multirun with hydra/launcher=flyte --------------------------------------------


def _comparable_hydra(saved: dict, sweep_dir: Path) -> dict:
    """A job's `hydra.yaml`, less what differs by launcher: the launcher node and callback, its choice, overrides."""
    hydra = dict(saved["hydra"])
    for key in ("launcher", "callbacks", "overrides"):
        hydra.pop(key)
    hydra["sweep"] = {**hydra["sweep"], "dir": None}
    hydra["runtime"] = dict(hydra["runtime"])
    hydra["runtime"]["output_dir"] = str(Path(hydra["runtime"]["output_dir"]).relative_to(sweep_dir))
    hydra["runtime"]["choices"] = {k: v for k, v in hydra["runtime"]["choices"].items() if k != "hydra/launcher"}
    return {**hydra, "task_overrides": saved["hydra"]["overrides"]["task"]}


def test_launcher_snapshots_are_what_hydras_own_launcher_writes(tmp_path):
    """The flyte launcher renders `.hydra/*.yaml` itself; their content is what Hydra's basic launcher writes."""
    from conftest import APPS, run_script

    app = ["--multirun", "+task=trivial", "x=1,2", "name=a,'b c'", "+nested.job=job_${hydra:job.num}"]
    flyte = ["hydra/launcher=flyte", "hydra.launcher.mode=local"]
    for name, extra in (("basic", []), ("flyte", flyte)):
        proc = run_script(APPS / "hydra_app.py", *app, *extra, f"hydra.sweep.dir={tmp_path / name}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    for num in range(4):
        basic, ours = snapshots(tmp_path / "basic" / str(num)), snapshots(tmp_path / "flyte" / str(num))
        assert ours["config"] == basic["config"], num
        assert ours["config"]["nested"]["job"] == "job_${hydra:job.num}"  # written as composed, as Hydra does
        assert ours["overrides"] == basic["overrides"], num
        assert _comparable_hydra(ours["hydra"], tmp_path / "flyte") == _comparable_hydra(
            basic["hydra"], tmp_path / "basic"
        ), num


# -- snapshot texts: what is rendered once and spliced per job equals a whole dump -------------------------

SPLICED_VALUES = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.text(max_size=120),
    st.sampled_from(["yes", "null", "3.5", "a: b", "#x", "- y", "${x}", "é", "'q'", '"d"', " lead", "x" * 95]),
    # Words and spaces, long enough to fold (not `from_regex`: the lowest allowed hypothesis imports the
    # deprecated `sre_constants` for it, and warnings are errors here).
    st.lists(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12), min_size=1, max_size=13).map(" ".join),
    st.lists(st.text(max_size=40), max_size=4),
)


def dump_whole(document: object) -> str:
    return yaml.dump(document, Dumper=yaml.CSafeDumper, default_flow_style=False, allow_unicode=True, sort_keys=False)


@settings(max_examples=400, deadline=None)
@given(values=st.lists(SPLICED_VALUES, min_size=1, max_size=4), depths=st.lists(st.integers(0, 6), min_size=4))
def test_spliced_text_is_the_whole_dump_or_nothing(values, depths):
    """A value put in at its placeholder gives the bytes that dumping the whole document gives, or `render` says no."""
    from flyteplugins.hydra._job_outputs import _items, _Spliced

    def document(leaves: list[object]) -> dict:
        doc: dict = {"first": 1}
        for number, (leaf, depth) in enumerate(zip(leaves, depths)):
            parent = doc
            for level in range(depth):
                parent = parent.setdefault(f"level_{number}_{level}", {"before": "x"})
            parent[f"key_{number}"] = leaf
            parent[f"after_{number}"] = "tail"
        return doc

    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    items = _items(flat)
    if items is None:
        assert any(len(dump_whole([x]).splitlines()) > 1 for x in flat)  # only a scalar of two lines is refused
        return
    given_items: dict[str, str | list[str]] = {}
    for number, value in enumerate(values):
        size = len(value) if isinstance(value, list) else 1
        taken, items = items[:size], items[size:]
        given_items[str(number)] = taken if isinstance(value, list) else taken[0]
    placeholders = {str(n): f"flyte_hydra_placeholder_test_{n}_" for n in range(len(values))}
    rendered = _Spliced(dump_whole(document(list(placeholders.values()))), placeholders).render(given_items)
    if rendered is not None:
        assert rendered == dump_whole(document(values))
    if all(isinstance(v, (int, bool)) or v is None for v in values):
        assert rendered is not None  # short plain scalars are always put in


# Leaves a sweep job's snapshot writes without YAML: names, paths, override lines, numbers and what reads as one.
KNOWN_LEAVES = st.one_of(
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.none(),
    st.text(alphabet=string.ascii_letters + string.digits + "_./=+,-:~ '\"#", max_size=12),
    st.sampled_from(["5", "0x1f", "0o17", "1_000", "1e5", "1.5", ".5", "2026-01-01", "1:20", "yes", "Off", "~"]),
    st.sampled_from(["inf", ".inf", "nan", ".NaN", "<<", "=", "y", "n", "NULL", "/a/b", "a=b", "training.epochs=5"]),
)


@settings(max_examples=1000, deadline=None)
@given(values=st.lists(KNOWN_LEAVES, max_size=6))
def test_leaves_written_without_yaml_are_what_yaml_writes(values):
    """Each value's item is the line YAML gives it in a dumped list, whichever values are written without YAML."""
    from flyteplugins.hydra._job_outputs import _items

    lines = dump_whole(values).splitlines() if values else []
    if len(lines) != len(values):
        assert _items(values) is None
        return
    assert _items(values) == [line[2:] for line in lines]


LONG_WORDS = "many words that make this value run past the yaml line width of eighty columns by far"


def test_value_only_sweep_snapshots_are_byte_for_byte_a_whole_dump_of_hydras_composition(tmp_path):
    """config.yaml, hydra.yaml and overrides.yaml of every job are the bytes a whole dump of Hydra's own job gives.

    The values cover what YAML quotes, folds or writes specially, next to short plain ones, and the
    sweep folder is long enough that each job's `output_dir` runs past YAML's line width.
    """
    from flyteplugins.hydra._compose import make_config_loader, plan_grid_sweep

    sweep = tmp_path / ("deep_" * 12) / "sweep"
    names = ["plain", "'with space'", "yes", "'null'", "'3.5'", "'a: b'", "'#hash'", "'é'", "x" * 90, f"'{LONG_WORDS}'"]
    overrides = [f"name={','.join(names)}", "nested.a=1,2.5,-3,1e-5", f"hydra.sweep.dir={sweep}"]
    hydra_sweep(tasks.dump, config_path=CONF, config_name="app", overrides=overrides, mode="local")
    loader = make_config_loader(CONF)
    plan = plan_grid_sweep(loader, "app", overrides)
    assert len(plan.job_overrides) == 40
    for num, job_overrides in enumerate(plan.job_overrides):
        cfg = loader.load_sweep_config(plan.primary, list(job_overrides))
        cfg.hydra.job.num, cfg.hydra.job.id = num, str(num)
        cfg.hydra.runtime.output_dir = str(sweep / str(num))
        whole = OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
        hydra_node = whole.pop("hydra")
        saved = sweep / str(num) / ".hydra"
        assert (saved / "config.yaml").read_text() == dump_whole(whole), num
        assert (saved / "hydra.yaml").read_text() == dump_whole({"hydra": hydra_node}), num
        assert (saved / "overrides.yaml").read_text() == dump_whole(list(job_overrides)), num
