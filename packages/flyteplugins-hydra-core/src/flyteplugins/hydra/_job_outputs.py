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
import functools
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
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


# YAML's line width: a scalar that would reach past it may be folded at a space, differently at another column.
_WIDTH = 80


def _fits(column: int, item: str) -> bool:
    """Whether YAML writes `item` (one dumped scalar) the same at `column` as where it was dumped.

    Plain and single-quoted scalars are folded only at a space, once a line reaches past the width;
    double-quoted ones (`"..."`, for special characters) are left to a whole dump.
    """
    return column + len(item) <= _WIDTH or (" " not in item and not item.startswith('"'))


def _write_text(path: str, text: str) -> None:
    """`Path.write_text` in a third of its time: a sweep writes four small files per job."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def _make_folder(path: str) -> None:
    """`Path(path).mkdir(parents=True, exist_ok=True)`, one system call when the parent exists (a sweep's jobs)."""
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)


def _write_snapshots(folder: str, texts: Sequence[str]) -> None:
    """`config.yaml`, `hydra.yaml` and `overrides.yaml` (`texts`, in that order) in `folder`, made if missing."""
    _make_folder(folder)
    for name, text in zip(_SNAPSHOT_FILES, texts):
        _write_text(os.path.join(folder, name), text)


# Text that YAML writes as it is (a plain scalar) unless it reads as another type: no indicator, space or quote.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./=+,-]*\Z")
_STR_TAG = "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=1)
def _resolver() -> Any:
    import yaml

    return yaml.resolver.Resolver()


def _known_item(value: Any) -> str | None:
    """What YAML writes for the commonest leaves (ints, booleans, null, names, paths, override lines), or None.

    The text of a plain name is the name, or the name in single quotes when YAML would read it back as
    another type (`'5'`, `'true'`, `'2026-01-01'`), which the resolver YAML itself uses tells.
    """
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is not str or not _PLAIN_TEXT.match(value):
        return None
    import yaml

    plain = _resolver().resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG
    return value if plain else f"'{value}'"


def _dumped_items(values: Sequence[Any]) -> list[str] | None:
    lines = _yaml(list(values)).splitlines()
    if len(lines) != len(values) or not all(line.startswith("- ") for line in lines):
        return None
    return [line[2:] for line in lines]


def _items(values: Sequence[Any]) -> list[str] | None:
    """Each value as YAML writes it as an item of a block sequence; None if one takes two lines.

    A sweep job's values are mostly numbers, names and paths, written here as YAML would; the rest
    are dumped together (dumping costs about as much per document as per value).
    """
    items = [_known_item(v) for v in values]
    rest = [v for v, item in zip(values, items) if item is None]
    if not rest:
        return items  # type: ignore[return-value]
    dumped = _dumped_items(rest)
    if dumped is None:
        return None
    fill = iter(dumped)
    return [item if item is not None else next(fill) for item in items]


def _sequence(items: list[str]) -> str:
    """A whole document of one list, from its items (`_items`): what dumping the list gives."""
    return "".join(f"- {item}\n" for item in items) if items else "[]\n"


class _Spliced:
    """YAML text dumped once with a placeholder at each leaf that differs between jobs; each job's items put in.

    Dumping a document costs about as much per leaf as per document, and the jobs that share a template
    differ only in a few leaves. A value is put in only where the result is exactly what dumping the whole
    document gives: a scalar that YAML writes on one line and would not fold at its place (`_fits`), a
    list of such scalars (each dumped on one line by `_items`). Otherwise `render` gives None and the caller
    dumps the whole document.
    """

    def __init__(self, text: str, placeholders: Mapping[str, str]) -> None:
        found = sorted((text.index(p), name, len(p)) for name, p in placeholders.items())
        self._pieces: list[str] = []
        self._slots: list[tuple[str, int, int]] = []  # name, column of the value, indentation of its line
        at = 0
        for position, name, size in found:
            line_start = text.rfind("\n", 0, position) + 1
            line = text[line_start:position]
            self._pieces.append(text[at:position])
            self._slots.append((name, position - line_start, len(line) - len(line.lstrip())))
            at = position + size
        self._tail = text[at:]

    def render(self, items: Mapping[str, str | list[str]]) -> str | None:
        """The text with each placeholder's item in place (`_items`); a list of items is a block sequence."""
        parts = []
        for piece, (name, column, indent) in zip(self._pieces, self._slots):
            item = items[name]
            if isinstance(item, list):
                if not item:
                    item = "[]"
                elif not all(_fits(indent + 2, line) for line in item):
                    return None
                else:
                    parts.append(piece[:-1])  # the space after `key:`, as a block sequence starts on the next line
                    parts.extend(f"\n{' ' * indent}- {line}" for line in item)
                    continue
            if not _fits(column, item):
                return None
            parts.extend((piece, item))
        parts.append(self._tail)
        return "".join(parts)


_SCALARS = (str, int, float, bool, type(None))
_SNAPSHOT_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")


def _container(node: Any) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=False, enum_to_str=True)


def _raw(node: Any, key: str) -> Any:
    """A value as written in the config, interpolations unresolved."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=False).get(key) if OmegaConf.is_dict(node) else None


def _hydra_spliced(hydra: dict[str, Any]) -> _Spliced:
    """`{"hydra": ...}` (from a job's `hydra` node) with a placeholder at each leaf that differs between jobs."""
    return _Spliced(
        _yaml(
            {
                "hydra": {
                    **hydra,
                    "job": {**hydra["job"], **{k: _PLACEHOLDER[k] for k in ("num", "id", "override_dirname")}},
                    "overrides": {**hydra["overrides"], "task": _PLACEHOLDER["lines"]},
                    "runtime": {**hydra["runtime"], "output_dir": _PLACEHOLDER["output_dir"]},
                }
            }
        ),
        _PLACEHOLDER,
    )


def _leaf(cfg: Any, path: Sequence[str]) -> tuple[bool, Any]:
    """(True, the value `to_container` gives) for a leaf of `cfg` at `path` (interpolations as written)."""
    from omegaconf import Container, DictConfig

    from ._compose import child

    node = cfg
    for part in path:
        if not isinstance(node, DictConfig) or part not in node.keys():
            return False, None
        node = child(node, part)
    if node is None or isinstance(node, Container):
        return False, None
    value = node._value()
    return True, (value.name if isinstance(value, Enum) else value)


class _ConfigTexts:
    """`.hydra/config.yaml` of each job: dumped whole, or for a value-only job its template's text with its leaves.

    Jobs made from one template (`_compose.SweepComposer`) differ from it only at the keys of their
    overrides, so the text is dumped once per template with a placeholder at each such key that is a
    leaf, and each job's own values there are put in (`_Spliced`).
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[Any, _Spliced, tuple[tuple[str, ...], ...]]] = {}

    def values(self, job: ComposedJob) -> tuple[_Spliced, list[Any]] | None:
        """The job's template text and its values at the placeholders; None when its text must be dumped whole."""
        derived = job.derived
        if derived is None or not derived.keys:
            return None
        known = self._known.get(id(job.node))
        if known is None or known[0] is not job.node:
            made = self._template(job)
            if made is None:
                return None
            known = self._known[id(job.node)] = (job.node, *made)
        _, spliced, paths = known
        if not set(derived.changed) <= {".".join(p) for p in paths}:
            return None
        values = []
        for path in paths:
            is_leaf, value = _leaf(job.task, path)
            if not is_leaf or not isinstance(value, _SCALARS):
                return None
            values.append(value)
        return spliced, values

    @staticmethod
    def _template(job: ComposedJob) -> tuple[_Spliced, tuple[tuple[str, ...], ...]] | None:
        """The job's text with placeholders at its override keys that are leaves; None if a key it changed is not."""
        assert job.derived is not None
        content = _container(job.task)
        placeholders, paths = {}, []
        for key in dict.fromkeys(job.derived.keys):
            path = tuple(key.split("."))
            parent = content
            for part in path[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if not isinstance(parent, dict) or isinstance(parent.get(path[-1], {}), (dict, list)):
                continue
            name = str(len(paths))
            placeholders[name] = parent[path[-1]] = f"flyte_hydra_placeholder_config_{name}_"
            paths.append(path)
        if not paths or not set(job.derived.changed) <= {".".join(p) for p in paths}:
            return None
        return _Spliced(_yaml(content), placeholders), tuple(paths)


def _snapshot_texts(
    job: ComposedJob,
    configs: _ConfigTexts,
    hydra: tuple[_Spliced, dict[str, Any]] | None,
    lines: list[str],
    whole_hydra: Callable[[], str],
) -> tuple[str, str, str]:
    """`config.yaml`, `hydra.yaml` and `overrides.yaml` of `job`: spliced where they can be, else dumped whole.

    `hydra` is the text the job's `hydra.yaml` is spliced into, with the job's values but for its
    override lines (None: dump it whole, `whole_hydra()`).
    """
    config = configs.values(job)
    config_values = config[1] if config is not None else []
    hydra_values = list(hydra[1].values()) if hydra is not None else []
    items = _items([*config_values, *hydra_values, *lines])
    if items is None:
        return _yaml(_container(job.task)), whole_hydra(), _yaml(lines)
    config_items, hydra_items = items[: len(config_values)], items[len(config_values) : len(items) - len(lines)]
    line_items = items[len(items) - len(lines) :]
    config_text = hydra_text = None
    if config is not None:
        config_text = config[0].render({str(n): item for n, item in enumerate(config_items)})
    if hydra is not None:
        hydra_text = hydra[0].render({**dict(zip(hydra[1], hydra_items)), "lines": line_items})
    return (
        config_text if config_text is not None else _yaml(_container(job.task)),
        hydra_text if hydra_text is not None else whole_hydra(),
        _sequence(line_items),
    )


class Snapshots:
    """`.hydra/{config,hydra,overrides}.yaml` of launcher jobs, with the content Hydra's `run_job` gives them.

    Hydra renders each file with `OmegaConf.to_yaml` (pure-Python YAML, about 6 ms for the `hydra`
    node alone). Here the files are dumped through libyaml, and the `hydra.yaml` of jobs that share
    their `hydra` node is rendered once per node, each job's own leaves put in.
    """

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, _Spliced]] = {}
        self._configs = _ConfigTexts()

    def _hydra(self, job: ComposedJob) -> tuple[_Spliced, dict[str, Any]] | None:
        if job.derived is None:
            return None
        known = self._texts.get(id(job.node))
        if known is None or known[0] is not job.node:
            known = self._texts[id(job.node)] = (job.node, _hydra_spliced(_container(job.node.node)))
        values = {
            "num": job.num if job.num is not None else job.node.base_num,
            "id": str(job.num) if job.num is not None else job.node.base_id,
            "override_dirname": job.derived.override_dirname,
            "output_dir": job.output_dir,
        }
        return known[1], values

    def write(self, folder: Path, job: ComposedJob) -> None:
        """The three files of `job` (Hydra's current job), in `folder` (`<output dir>/<hydra.output_subdir>`)."""
        texts = _snapshot_texts(
            job, self._configs, self._hydra(job), job.overrides, lambda: _yaml(_container(job.node.holder))
        )
        _write_snapshots(str(folder), texts)


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
    spliced: _Spliced | None = None


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
        self._configs = _ConfigTexts()

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
        _make_folder(output_dir)

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
        _make_folder(output_dir)

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

    def _hydra(self) -> tuple[_Spliced, dict[str, Any]] | None:
        """The first job's `hydra.yaml` with placeholders, and this job's values for them (None: dump it whole).

        Rendering Hydra's node is most of a snapshot's cost, and it is the same for every job but
        for a few leaves, so it is rendered once with a placeholder for each of them.
        """
        job = self._job
        shared = self._shared
        if job["hydra"] is None or shared is None:
            return None
        if shared.spliced is None:
            shared.spliced = _hydra_spliced(shared.hydra["hydra"])
        return shared.spliced, {key: job[key] for key in ("num", "id", "override_dirname", "output_dir")}

    def snapshot(self, output_dir: str | None, job: ComposedJob) -> None:
        """`.hydra/config.yaml`, `hydra.yaml` and `overrides.yaml`, as Hydra's `run_job` writes them.

        Call it after `write`, while `job` is Hydra's current job and before its `${hydra:...}` are fixed.
        """
        from hydra.core.hydra_config import HydraConfig

        subdir = self._job.get("subdir")
        if output_dir is None or subdir is None:
            return
        texts = _snapshot_texts(
            job,
            self._configs,
            self._hydra(),
            self._job["lines"],
            lambda: _yaml(_container(HydraConfig.instance().cfg)),
        )
        _write_snapshots(os.path.join(output_dir, str(subdir)), texts)

    @staticmethod
    def record_run(output_dir: str | None, run: Any) -> None:
        """A remote job's run URL, in its folder; local runs finished in-process and need none."""
        url = getattr(run, "url", None)
        if output_dir is None or not url or type(run).__qualname__.endswith("_InlineRun"):
            return
        _write_text(os.path.join(output_dir, URL_FILE), f"{url}\n")


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
