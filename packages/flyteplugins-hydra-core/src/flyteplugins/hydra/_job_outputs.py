"""Hydra's per-job output folder for the jobs the SDK and CLI compose themselves.

A `@hydra.main` app gets its output folder from Hydra's `run_job`: `hydra.run.dir` for a run,
`hydra.sweep.dir/hydra.sweep.subdir` for each sweep job, holding `.hydra/{config,hydra,overrides}.yaml`
(unless `hydra.output_subdir` is null) and the job log that `hydra/job_logging` configures, with
`hydra.verbose` applied. `hydra_run`, `hydra_sweep` and `flyte hydra run` call no task function
through Hydra, so this module lays out the same folder from the composed config, on the submitting
machine; a remote job's folder also holds its run URL in `flyte_run_url.txt`.

Per-job cost matters (sweeps of thousands of jobs): Python logging is configured once per launch
and each job only points the configured log files at its own folder, and `hydra.yaml`, the largest
snapshot, is rendered from the job's already-masked Hydra node without resolving it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ._compose import ComposedJob

URL_FILE = "flyte_run_url.txt"


_DEFAULT_SUBDIR = "${hydra.job.num}"
_DEFAULT_LOG_FILE = "${hydra.runtime.output_dir}/${hydra.job.name}.log"


def _yaml(container: Any) -> str:
    """YAML text as `OmegaConf.to_yaml` writes it, through libyaml when it is there (several times faster)."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(container, Dumper=dumper, default_flow_style=False, allow_unicode=True, sort_keys=False)


_PLACEHOLDER = {
    key: f"flyte_hydra_placeholder_{key}"
    for key in (
        "num",
        "id",
        "override_dirname",
        "lines",
        "output_dir",
    )
}


def _put(text: str, placeholder: str, value: Any) -> str:
    """Replace the scalar `placeholder` in YAML `text` with `value` rendered as YAML at the same place."""
    at = text.index(placeholder)
    line_start = text.rindex("\n", 0, at) + 1
    indent = " " * (len(text[line_start:at]) - len(text[line_start:at].lstrip()))
    if isinstance(value, list) and value:
        block = "".join(f"\n{indent}{line}" for line in _yaml(value).splitlines())
        return text[: at - 1] + block + text[at + len(placeholder) :]
    rendered = _yaml([value])[2:].rstrip("\n")  # "- <scalar>" as a list item, so YAML quotes it as needed
    rendered = rendered.replace("\n", "\n" + indent)
    return text[:at] + rendered + text[at + len(placeholder) :]


def _container(node: Any) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=False, enum_to_str=True)


def _raw(node: Any, key: str) -> Any:
    """A value as written in the config, interpolations unresolved."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=False).get(key) if OmegaConf.is_dict(node) else None


def _put_job(text: str, fields: dict[str, Any]) -> str:
    for key, placeholder in _PLACEHOLDER.items():
        text = _put(text, placeholder, fields[key])
    return text


def _with_placeholders(hydra: dict[str, Any]) -> dict[str, Any]:
    """`{"hydra": ...}` with a placeholder at each leaf that differs between jobs sharing a node."""
    return {
        "hydra": {
            **hydra,
            "job": {**hydra["job"], **{k: _PLACEHOLDER[k] for k in ("num", "id", "override_dirname")}},
            "overrides": {**hydra["overrides"], "task": _PLACEHOLDER["lines"]},
            "runtime": {**hydra["runtime"], "output_dir": _PLACEHOLDER["output_dir"]},
        }
    }


class Snapshots:
    """`.hydra/{config,hydra,overrides}.yaml` of launcher jobs, with the content Hydra's `run_job` gives them.

    Hydra renders each file with `OmegaConf.to_yaml` (pure-Python YAML, about 6 ms for the `hydra`
    node alone). Here the files are dumped through libyaml, and the `hydra.yaml` of jobs that share
    their `hydra` node is rendered once per node, each job's own leaves put in.
    """

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def _hydra_text(self, job: ComposedJob) -> str:
        if job.derived is None:
            return _yaml(_container(job.node.holder))
        known = self._texts.get(id(job.node))
        if known is None or known[0] is not job.node:
            known = self._texts[id(job.node)] = (job.node, _yaml(_with_placeholders(_container(job.node.node))))
        num = job.num if job.num is not None else job.node.base_num
        return _put_job(
            known[1],
            {
                "num": num,
                "id": str(job.num) if job.num is not None else job.node.base_id,
                "override_dirname": job.derived.override_dirname,
                "lines": list(job.derived.overrides),
                "output_dir": job.output_dir,
            },
        )

    def write(self, folder: Path, job: ComposedJob) -> None:
        """The three files of `job` (Hydra's current job), in `folder` (`<output dir>/<hydra.output_subdir>`)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yaml").write_text(_yaml(_container(job.task)), encoding="utf-8")
        (folder / "hydra.yaml").write_text(self._hydra_text(job), encoding="utf-8")
        (folder / "overrides.yaml").write_text(_yaml(job.overrides), encoding="utf-8")


@dataclass
class _Shared:
    """What every job of a launch shares with its first job, as long as its Hydra settings are the first job's.

    `key` is what tells: the `hydra.*` overrides, the config group choices, and whether any job
    override sets a `hydra` key. Jobs with the same key differ only in their number, overrides and
    folder, so their `hydra.yaml` is the first one's with those leaves replaced.
    """

    key: Any
    hydra: dict[str, Any]
    sweep_dir: str | None
    subdir: Any
    job_name: str
    log_files: dict[str, Any]
    output_subdir: Any = None
    text: str | None = None


class _JobLogs:
    """`hydra/job_logging` and `hydra.verbose`, applied as Hydra's `run_job` applies them, but once a launch.

    Hydra reconfigures Python logging for every job (`logging.config.dictConfig`, which also walks
    every logger in the process). The jobs of one launch share their logging config but for the log
    files' names, so the first job configures logging and later ones re-point its file handlers.
    """

    def __init__(self) -> None:
        self._files: list[tuple[logging.FileHandler, str]] = []

    def configure(self, hydra: Any) -> None:
        from hydra.core.utils import configure_log

        configure_log(hydra.job_logging, hydra.verbose)
        job_logging = hydra.job_logging
        if job_logging is None:
            self._files = []
            return
        names = set((job_logging.get("handlers") or {}).keys())
        loggers = [logging.getLogger(), *(logging.getLogger(n) for n in (job_logging.get("loggers") or {}))]
        found = {}
        for logger in loggers:
            for handler in logger.handlers:
                if isinstance(handler, logging.FileHandler) and handler.get_name() in names:
                    found[id(handler)] = (handler, str(handler.get_name()))
        self._files = list(found.values())

    def repoint(self, filename_of: Any) -> None:
        """Send each configured log file's records to `filename_of(handler name)` from now on."""
        for handler, name in self._files:
            path = os.path.abspath(filename_of(name))
            if path == handler.baseFilename:
                continue
            handler.acquire()
            try:
                handler.close()
                handler.baseFilename = path
                handler.stream = handler._open()  # Hydra's handlers open their file at once; so does this one
            finally:
                handler.release()


class JobOutputs:
    """Lays out the output folder of each job of one launch; one per launch, used from the composing thread."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled  # a dry run writes nothing
        self._logs = _JobLogs()
        self._shared: _Shared | None = None
        self._job: dict[str, Any] = {}

    @staticmethod
    def _key(hydra: Any, task_lines: list[str]) -> Any:
        sets_hydra = any(line.lstrip("+~").startswith("hydra") for line in task_lines)
        return sets_hydra, _container(hydra.overrides.hydra), _container(hydra.runtime.choices)

    def _first(self, cfg: DictConfig, key: Any, *, sweep: bool) -> str:
        """Everything from the config itself, the way Hydra's `run_job` reads it."""
        from omegaconf import OmegaConf

        hydra = cfg.hydra
        if sweep:
            sweep_dir = str(OmegaConf.select(cfg, "hydra.sweep.dir"))
            output_dir = os.path.join(sweep_dir, str(OmegaConf.select(cfg, "hydra.sweep.subdir")))
        else:
            sweep_dir, output_dir = None, str(OmegaConf.select(cfg, "hydra.run.dir"))
        output_dir = os.path.abspath(output_dir)
        self._set_output_dir(cfg, output_dir)
        self._logs.configure(hydra)
        handlers = (hydra.job_logging or {}).get("handlers") or {}
        self._shared = _Shared(
            key=key,
            hydra={"hydra": _container(hydra)},
            sweep_dir=sweep_dir,
            subdir=_raw(hydra.sweep, "subdir"),
            job_name=str(hydra.job.name),
            log_files={name: _raw(handlers[name], "filename") for name in handlers},
            output_subdir=hydra.output_subdir,
        )
        return output_dir

    @staticmethod
    def _set_output_dir(cfg: DictConfig, output_dir: str) -> None:
        from omegaconf import open_dict, read_write

        with read_write(cfg.hydra.runtime), open_dict(cfg.hydra.runtime):
            cfg.hydra.runtime.output_dir = output_dir
        Path(output_dir).mkdir(parents=True, exist_ok=True)

    def _like_first(self, cfg: DictConfig, shared: _Shared, *, sweep: bool) -> str:
        from omegaconf import OmegaConf

        hydra = cfg.hydra
        if not sweep:
            output_dir = str(OmegaConf.select(cfg, "hydra.run.dir"))
        elif shared.subdir == _DEFAULT_SUBDIR:
            output_dir = os.path.join(str(shared.sweep_dir), str(hydra.job.num))
        else:
            output_dir = os.path.join(str(shared.sweep_dir), str(OmegaConf.select(cfg, "hydra.sweep.subdir")))
        output_dir = os.path.abspath(output_dir)
        self._set_output_dir(cfg, output_dir)

        def filename(name: str) -> str:
            if shared.log_files.get(name) == _DEFAULT_LOG_FILE:
                return os.path.join(output_dir, f"{shared.job_name}.log")
            return str(OmegaConf.select(cfg, f"hydra.job_logging.handlers.{name}.filename"))

        self._logs.repoint(filename)
        return output_dir

    def write(self, cfg: DictConfig, *, sweep: bool, job: ComposedJob | None = None) -> str | None:
        """Set `hydra.runtime.output_dir`, create that folder and point the job's log there.

        Call it with the job's whole config (`job.activate()`'s), then `snapshot`; returns the job's
        folder, or None when the config has no `hydra` node or nothing is written. A `job` that shares
        its `hydra` node with the jobs before it (a value-only sweep job) is laid out from what it
        already knows, without reading its node again.
        """
        if not self.enabled or "hydra" not in cfg:
            return None
        shared = self._shared
        if job is not None and job.derived is not None and job.output_dir is not None:
            if shared is not None and shared.key is job.node:
                return self._like_before(job, cfg, shared)
            key: Any = job.node
            task_lines = list(job.derived.overrides)
        else:
            task_lines = [str(line) for line in cfg.hydra.overrides.task]
            key = self._key(cfg.hydra, task_lines)
        hydra = cfg.hydra
        if shared is None or shared.key != key:
            output_dir = self._first(cfg, key, sweep=sweep)
            self._job = {"hydra": None}
        else:
            output_dir = self._like_first(cfg, shared, sweep=sweep)
            self._job = {
                "hydra": shared.hydra,
                "num": hydra.job.num,
                "id": hydra.job.id,
                "override_dirname": hydra.job.override_dirname,
            }
        self._job.update(lines=task_lines, output_dir=output_dir, subdir=hydra.output_subdir)
        return output_dir

    def _like_before(self, job: ComposedJob, cfg: DictConfig, shared: _Shared) -> str:
        """A value-only job after the first: its folder and fields are the job's own, the rest is shared."""
        from omegaconf import OmegaConf

        assert job.output_dir is not None and job.derived is not None
        output_dir = job.output_dir
        Path(output_dir).mkdir(parents=True, exist_ok=True)

        def filename(name: str) -> str:
            if shared.log_files.get(name) == _DEFAULT_LOG_FILE:
                return os.path.join(output_dir, f"{shared.job_name}.log")
            return str(OmegaConf.select(cfg, f"hydra.job_logging.handlers.{name}.filename"))

        self._logs.repoint(filename)
        self._job = {
            "hydra": shared.hydra,
            "num": job.num if job.num is not None else job.node.base_num,
            "id": str(job.num) if job.num is not None else job.node.base_id,
            "override_dirname": job.derived.override_dirname,
            "lines": list(job.derived.overrides),
            "output_dir": output_dir,
            "subdir": shared.output_subdir,
        }
        return output_dir

    def _hydra_snapshot(self) -> str:
        """This job's `hydra.yaml`: the first job's text, with what differs between jobs put in.

        Rendering Hydra's node is most of a snapshot's cost, and it is the same for every job but
        for a few leaves, so it is rendered once with a placeholder for each of them.
        """
        from hydra.core.hydra_config import HydraConfig

        job = self._job
        shared = self._shared
        if job["hydra"] is None or shared is None:
            return _yaml(_container(HydraConfig.instance().cfg))
        if shared.text is None:
            shared.text = _yaml(_with_placeholders(shared.hydra["hydra"]))
        return _put_job(shared.text, job)

    def snapshot(self, output_dir: str | None, task_cfg: DictConfig) -> None:
        """`.hydra/config.yaml`, `hydra.yaml` and `overrides.yaml`, as Hydra's `run_job` writes them.

        Call it after `task_config`, with the job's config without its `hydra` node.
        """
        subdir = self._job.get("subdir")
        if output_dir is None or subdir is None:
            return
        folder = Path(output_dir) / str(subdir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in (
            ("config.yaml", _container(task_cfg)),
            ("hydra.yaml", None),
            ("overrides.yaml", self._job["lines"]),
        ):
            text = self._hydra_snapshot() if content is None else _yaml(content)
            (folder / name).write_text(text, encoding="utf-8")

    @staticmethod
    def record_run(output_dir: str | None, run: Any) -> None:
        """A remote job's run URL, in its folder; local runs finished in-process and need none."""
        url = getattr(run, "url", None)
        if output_dir is None or not url or type(run).__qualname__.endswith("_InlineRun"):
            return
        (Path(output_dir) / URL_FILE).write_text(f"{url}\n", encoding="utf-8")


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Give Python logging back as it was once a launch returns.

    A `@hydra.main` app owns its process; `hydra_run`/`hydra_sweep` are calls inside someone
    else's, so the handlers, levels and disabled flags that the jobs' logging config set are undone.
    """
    manager = logging.Logger.manager
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in list(manager.loggerDict.items())
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        added = [h for h in root.handlers if h not in saved_root[1]]
        root.handlers[:] = saved_root[1]
        for name, logger in list(manager.loggerDict.items()):
            if not isinstance(logger, logging.Logger):
                continue
            level, handlers, propagate, disabled = saved.get(name, (logger.level, [], logger.propagate, False))
            added += [h for h in logger.handlers if h not in handlers]
            logger.handlers[:] = handlers
            logger.level, logger.propagate, logger.disabled = level, propagate, disabled
        root.setLevel(saved_root[0])  # also clears every logger's cached effective level
        for handler in added:
            with contextlib.suppress(Exception):
                handler.close()
