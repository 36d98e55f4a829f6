"""Hydra composition and sweep expansion for the SDK and CLI surfaces.

The `@hydra.main` path composes through Hydra's own runtime; these helpers give the SDK and CLI
exactly the same configs without a task function, output directories or per-job log setup:
the primary config is composed once and each job once more, through Hydra's `ConfigLoaderImpl`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader
    from omegaconf import DictConfig


def resolve_config_dir(config_path: str | os.PathLike[str] | None) -> str | None:
    """Absolute config directory: relative paths are taken from the current directory."""
    if config_path is None:
        return None
    path = Path(config_path).expanduser()
    resolved = path if path.is_absolute() else Path.cwd() / path
    if not resolved.is_dir():
        raise ConfigurationError(
            f"config_path '{config_path}' is not a directory (looked for {resolved}). Relative paths are taken "
            "from the current directory: run from your project folder or pass an absolute path; use None for "
            "configs registered only in the ConfigStore."
        )
    return str(resolved.resolve())


def needs_hydra_runtime(overrides: Sequence[str]) -> bool:
    """True when an override selects a `hydra/...` group (sweeper, launcher, callbacks need plugin discovery)."""
    return any(o.lstrip("+~").startswith("hydra/") for o in overrides)


def make_config_loader(config_path: str | os.PathLike[str] | None) -> ConfigLoader:
    from hydra.core.utils import setup_globals

    from ._hydra_compat import make_loader

    setup_globals()
    return make_loader(resolve_config_dir(config_path))


def check_primary_config(
    loader: ConfigLoader, config_name: str | None, config_path: str | os.PathLike[str] | None, *, knob: str
) -> None:
    """A primary config that is not there is an error before anything is composed or run."""
    if config_name is None or loader.repository.config_exists(config_name):  # type: ignore[attr-defined]
        return
    if config_path is None:
        where = "in Hydra's ConfigStore (no config path was given, so no folder was searched)"
    else:
        where = f"in {resolve_config_dir(config_path)}"
    default = f" ('{config_name}' is what is composed when {knob} is not given)" if config_name == "config" else ""
    raise ConfigurationError(
        f"The primary config '{config_name}' was not found {where}{default}. Set {knob} to the name of a "
        "config there: a .yaml file without its extension, or a ConfigStore name."
    )


def compose_single(loader: ConfigLoader, config_name: str | None, overrides: Sequence[str]) -> DictConfig:
    """The config of a single run (sweep syntax is rejected by Hydra here, as with `python app.py`)."""
    from hydra.types import RunMode

    return loader.load_configuration(config_name=config_name, overrides=list(overrides), run_mode=RunMode.RUN)


@dataclass(frozen=True)
class SweepPlan:
    """The primary (multirun) config and each job's overrides, in BasicSweeper order."""

    primary: DictConfig
    job_overrides: list[list[str]]
    parsed: dict[str, Any] = field(default_factory=dict)


_PLAIN_ELEMENTS = (int, float, bool, str, type(None))


def _sweep_elements(parsed: Sequence[Any]) -> dict[str, Any]:
    """Each job line of the swept overrides with its `Override`, as parsing the line again would give it.

    BasicSweeper writes a swept element as `key=<element as text>`; for a plain element (a number,
    a bool, null, an unquoted string) parsing that line gives the sweep's own override with the
    element as its value, so the line need not go through Hydra's parser once per job.
    """
    import math

    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep

    from ._hydra_compat import element_override, sweep_of

    known: dict[str, Any] = {}
    for override in parsed:
        sweep = sweep_of(override)
        if not isinstance(sweep, (ChoiceSweep, RangeSweep)) or sweep.shuffle:
            continue
        key = override.get_key_element()
        for text, value in zip(override.sweep_string_iterator(), override.sweep_iterator()):
            if type(value) not in _PLAIN_ELEMENTS or (isinstance(value, float) and math.isnan(value)):
                continue
            line = f"{key}={text}"
            known[line] = element_override(override, value, line)
    return known


def plan_grid_sweep(loader: ConfigLoader, config_name: str | None, overrides: Sequence[str]) -> SweepPlan:
    """Expand comma/range/glob sweeps exactly as Hydra's BasicSweeper does."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from ._hydra_compat import split_grid

    primary = loader.load_configuration(config_name=config_name, overrides=list(overrides), run_mode=RunMode.MULTIRUN)
    params = OmegaConf.select(primary, "hydra.sweeper.params", default=None) or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += OmegaConf.to_container(primary.hydra.overrides.task, resolve=False)  # type: ignore[operator]
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    return SweepPlan(primary=primary, job_overrides=split_grid(parsed), parsed=_sweep_elements(parsed))


SWEEP_DIR = ("hydra.sweep.dir", "hydra.sweep.subdir")
_NOW = re.compile(r"\$\{now:[^${}\\]*\}")
RUN_DIR = ("hydra.run.dir", None)


def _output_keys(num: int | None) -> tuple[str, str | None] | None:
    return SWEEP_DIR if num is not None else None


def child(parent: Any, key: str | int) -> Any:
    """`parent._get_node(key)` for a key that exists, without its checks of the key (struct, typed, readonly).

    A container keeps its children in `_content` (a dict, or a list for a ListConfig); the checks are
    most of a lookup's cost, and a job looks up a dozen nodes of Hydra's node when it becomes current.
    """
    content = parent.__dict__["_content"]
    if isinstance(content, (dict, list)):
        return content[key]
    return parent._get_node(key)


def set_leaf(parent: Any, key: str | int, value: Any) -> None:
    """Set one existing leaf of a (read-only) node in place, as `read_write` plus an assignment would.

    `read_write`/`open_dict` on Hydra's large node re-derive every node's flags below it, on entry
    and on exit: that was most of a sweep job's cost. Lifting the flag on the leaf alone is enough
    (what `flag_override(leaf, "readonly", False)` does, without a context manager per leaf).
    """
    node = child(parent, key)
    flags = node._metadata.flags
    before = flags.get("readonly")
    flags["readonly"] = False
    node._invalidate_flags_cache()
    try:
        node._set_value(value)
    finally:
        if before is None:
            del flags["readonly"]
        else:
            flags["readonly"] = before
        node._invalidate_flags_cache()


class _HydraNode:
    """A composed `hydra` node, shared by the jobs of a sweep that only change plain values.

    Hydra's `hydra` node (launcher, sweeper, logging, help, ...) is most of a composed config, and
    copying it per job was most of a sweep's cost. The jobs that the template serves differ in it
    only in a few fields, so they share one node and each job writes its own fields into it when it
    becomes Hydra's current job. The node is kept read-only, as `HydraConfig` keeps it, so nothing
    else can change it by accident; `ComposedJob.hydra_config()` gives a job a private copy on demand.

    The node's parent is `frame`, a config whose other keys are the current job's own top-level nodes
    (as in `HydraConfig.set_config`, interpolations inside the node such as `${data.path}` resolve
    against the whole config). The frame's keys are swapped per job; the node never changes parent,
    which would make OmegaConf re-derive the flags of every node below it.
    """

    def __init__(self, node: DictConfig, composed: DictConfig) -> None:
        from omegaconf import DictConfig, OmegaConf, flag_override

        flags = _root_flags(composed)

        self.node = node
        # HydraConfig holds `{"hydra": node}`.
        self.holder = OmegaConf.create()
        with flag_override(self.holder, "no_deepcopy_set_nodes", True):
            self.holder["hydra"] = node
        self.frame = DictConfig({}, flags=dict(flags))
        # Resolvers with a cache (`${now:...}`) keep it on the root: the node's is the composed config's.
        OmegaConf.copy_cache(from_config=composed, to_config=self.frame)
        node._set_parent(self.frame)
        OmegaConf.set_readonly(node, True)
        self.flags = dict(flags)
        # The current job and its whole config (kept only while it is current: a sweep keeps its jobs).
        self.current: ComposedJob | None = None
        self.current_whole: DictConfig | None = None
        self._steady: dict[str, str] = {}
        # The composed values (often `???`), written back for an unnumbered job.
        self.base_num = node.job._get_node("num")._value()
        self.base_id = node.job._get_node("id")._value()
        self.base_output_dir = node.runtime._get_node("output_dir")._value()

    def _raw(self, key: str) -> Any:
        """The value at `key` (`hydra.` + a path in this node) as written, or None if it is not a leaf here."""
        parent: Any = self.node
        *path, leaf = key.split(".")[1:]
        for part in path:
            parent = parent._get_node(part)
            if parent is None:
                return None
        node = parent._get_node(leaf)
        return node._value() if node is not None else None

    def steady(self, whole: DictConfig, key: str) -> str:
        """`key` resolved in `whole`; once only when no job can change it (plain text, `${now:...}` at most).

        Resolving a `hydra.sweep.dir` parses its interpolations again every time; `now` keeps its
        first answer on the config the jobs share, so such a value is the same for every job.
        """
        from omegaconf import OmegaConf

        known = self._steady.get(key)
        if known is not None:
            return known
        value = str(OmegaConf.select(whole, key))
        raw = self._raw(key)
        if isinstance(raw, str) and "\\" not in raw and "${" not in _NOW.sub("", raw):
            self._steady[key] = value
        return value

    def is_job_num(self, key: str) -> bool:
        """Whether `key` is written as `${hydra.job.num}` (Hydra's default `hydra.sweep.subdir`)."""
        return self._raw(key) == "${hydra.job.num}"

    def show(self, task: DictConfig) -> DictConfig:
        """Make `task`'s top-level nodes the frame's (the node's siblings), and a config of both for the job.

        Nodes are shared, not copied or re-parented: the job's nodes keep `task` as their parent.
        """
        from omegaconf import DictConfig

        content = {"hydra": self.node, **task.__dict__["_content"]}
        self.frame.__dict__["_content"] = content
        whole = DictConfig({}, flags=dict(self.flags))
        whole.__dict__["_content"] = dict(content)
        return whole

    def write(self, target: DictConfig, job: ComposedJob, output_dir: str | None) -> None:
        """Write `job`'s own fields into `target` (this node, or a copy of it)."""
        numbered = job.num is not None
        node_job, runtime = child(target, "job"), child(target, "runtime")
        set_leaf(node_job, "id", str(job.num) if numbered else self.base_id)
        set_leaf(node_job, "num", job.num if numbered else self.base_num)
        if job.derived is not None:
            lines = job.derived.overrides
            task_lines = child(child(target, "overrides"), "task")
            if len(task_lines) == len(lines):
                # The jobs sharing a node have as many lines each: only the lines that differ are set again.
                for index, line in enumerate(lines):
                    if child(task_lines, index)._value() != line:
                        set_leaf(task_lines, index, line)
            else:
                # A ListConfig takes a new list whatever its flags (it lifts them while it fills itself).
                task_lines._set_value(list(lines))
            set_leaf(node_job, "override_dirname", job.derived.override_dirname)
        set_leaf(runtime, "output_dir", output_dir if output_dir is not None else self.base_output_dir)


@dataclass(frozen=True)
class _Derived:
    """What Hydra derives per job from its overrides, for a job that shares the template's `hydra` node.

    `keys` are the keys of the template's overrides (the same tuple for all its jobs), `changed` those
    that this job sets to another value: the job's config is the template's but for those leaves.
    """

    overrides: list[str]
    override_dirname: str
    keys: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


def _root_flags(cfg: DictConfig) -> dict[str, bool]:
    return dict(cfg._metadata.flags or {})


class ComposedJob:
    """One job's composition: the config its task receives, and Hydra's `hydra` node for it on demand.

    `task` is the job's own config without `hydra`, as Hydra hands it to a task function; `output_keys`
    name the job's directory (`SWEEP_DIR`, `RUN_DIR`; None while Hydra only validates a batch).
    `activate()` makes the job Hydra's current job (`HydraConfig.get()`, `${hydra:...}`) and returns
    its whole config; `hydra_config()` is the job's private copy of `{"hydra": ...}`, as Hydra keeps
    it in `JobReturn.hydra_cfg` and writes it to `.hydra/hydra.yaml` (made only when asked for).
    `fix_hydra_values()` then writes the job's own values in place of its `${hydra:...}` interpolations.
    """

    def __init__(
        self,
        task: DictConfig,
        num: int | None,
        node: _HydraNode,
        *,
        derived: _Derived | None = None,
        output_keys: tuple[str, str | None] | None = None,
        hydra_refs: list[tuple[Any, ...]] | None = None,
    ) -> None:
        self.task = task
        self.num = num
        self.node = node
        self.derived = derived
        self._output_keys = output_keys
        self._hydra_refs = hydra_refs
        self.output_dir: str | None = None

    @classmethod
    def owning(cls, cfg: DictConfig, num: int | None, **kwargs: Any) -> ComposedJob:
        """A job composed by Hydra itself: it owns `cfg` and its `hydra` node."""
        from omegaconf import open_dict, read_write

        hydra = cfg._get_node("hydra")
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]
        return cls(cfg, num, _HydraNode(hydra, cfg), **kwargs)

    @property
    def overrides(self) -> list[str]:
        from omegaconf import OmegaConf

        if self.derived is not None:
            return list(self.derived.overrides)
        return list(OmegaConf.to_container(self.node.node.overrides.task))  # type: ignore[arg-type]

    def activate(self) -> DictConfig:
        """Make this job Hydra's current job and return its whole config (`hydra` node shared, read-only).

        As in Hydra's own `run_job`, `hydra.runtime.output_dir` becomes the job's directory (absolute).
        """
        import os

        from hydra.core.hydra_config import HydraConfig
        from omegaconf import OmegaConf

        node = self.node
        instance = HydraConfig.instance()
        if node.current is self and instance.cfg is node.holder and node.current_whole is not None:
            return node.current_whole
        whole = node.current_whole = node.show(self.task)
        node.write(node.node, self, self.output_dir)
        node.current = self
        instance.cfg = node.holder  # type: ignore[assignment]
        if self.output_dir is None and self._output_keys is not None:
            job_dir, sub_dir = self._output_keys
            output_dir = node.steady(whole, job_dir)
            if sub_dir is not None:
                sub = str(self.num) if node.is_job_num(sub_dir) else str(OmegaConf.select(whole, sub_dir))
                output_dir = os.path.join(output_dir, sub)
            self.output_dir = os.path.abspath(output_dir)
            set_leaf(child(node.node, "runtime"), "output_dir", self.output_dir)
        return whole

    def fix_hydra_values(self) -> DictConfig:
        """Write this job's values in place of the `${hydra:...}` interpolations of its task config.

        Hydra resolves them whenever they are read, against whichever job is current then: a job
        prepared ahead of the one running, or shipped to a cluster where no Hydra runs, would read
        another job's values or fail. Call it while this job is current, after `.hydra/config.yaml`
        is written (Hydra writes the config as composed, interpolations and all).
        """
        from ._hydra_values import fix_hydra_values, hydra_refs

        refs = self._hydra_refs if self._hydra_refs is not None else hydra_refs(self.task)
        self._hydra_refs = []
        fix_hydra_values(self.task, refs)
        return self.task

    def hydra_config(self) -> DictConfig:
        """This job's own `{"hydra": ...}` (a copy; Hydra's `JobReturn.hydra_cfg`)."""
        import copy

        node = self.node
        holder = copy.deepcopy(node.holder)
        node.write(holder.hydra, self, self.output_dir)
        return holder


class SweepComposer:
    """Composes each job of one sweep at most once, and most of them without Hydra's defaults machinery.

    Composing through Hydra costs tens of milliseconds a job. Grid sweeps mostly vary plain values
    (`optimizer.lr=0.01`), and for those Hydra's result is the first job's config with those keys
    set again: `OmegaConf.update(..., merge=True)` is exactly what Hydra applies for such an
    override, after the same defaults list. So the first job is composed by Hydra and kept as a
    template; a later job whose differing overrides are all plain value changes is the template
    with those values set and its `hydra.overrides.task` / `hydra.job.override_dirname` rebuilt as
    Hydra builds them. Anything else (group selections, `+`, `++`, `~`, `hydra.*`, dict or list
    values, a key nested under another) and any error goes through Hydra itself.

    Template jobs copy only the template's task part; they share its `hydra` node (`_HydraNode`).
    """

    def __init__(self, loader: ConfigLoader, primary: DictConfig, parsed: dict[str, Any] | None = None) -> None:
        """`parsed`: job lines already parsed (`SweepPlan.parsed`); the others are parsed once each."""
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.loader = loader
        self.primary = primary
        self._parser = OverridesParser.create(config_loader=loader)
        self._parsed: dict[str, Any] = dict(parsed or {})
        self._template: bytes | None = None
        self._template_node: _HydraNode | None = None
        self._template_refs: list[tuple[Any, ...]] = []
        self._naming: dict[str, Any] = {}
        self._template_lines: list[str] = []
        self._template_keys: tuple[str, ...] = ()
        self._is_group: dict[str, bool] = {}

    def _parse(self, line: str) -> Any:
        override = self._parsed.get(line)
        if override is None:
            override = self._parsed[line] = self._parser.parse_override(line)
        return override

    def _is_plain_value(self, override: Any) -> bool:
        from hydra.core.override_parser.types import OverrideType

        key = override.key_or_group
        return (
            override.type == OverrideType.CHANGE
            and override.package is None
            and not override.is_hydra_override()
            and not override.is_sweep_override()
            and not isinstance(override.value(), (dict, list))
            and ("." in key or not self._group(key))
        )

    def _group(self, key: str) -> bool:
        """Whether `key` names a config group; asked of the repository once per key, not once per job."""
        if key not in self._is_group:
            self._is_group[key] = self.loader.repository.group_exists(key)  # type: ignore[attr-defined]
        return self._is_group[key]

    def _independent(self, parsed: list[Any]) -> bool:
        keys = [o.key_or_group for o in parsed]
        return len(set(keys)) == len(keys) and not any(a != b and b.startswith(a + ".") for a in keys for b in keys)

    def _keep_template(self, cfg: DictConfig, lines: list[str], parsed: list[Any]) -> None:
        import pickle

        from omegaconf import open_dict, read_write

        from ._hydra_values import hydra_refs

        hydra = cfg._get_node("hydra")
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]
        # Each job unpickles its own copy: several times cheaper than `copy.deepcopy` of a DictConfig.
        self._template = pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
        self._template_node = _HydraNode(hydra, cfg)
        self._template_refs = hydra_refs(cfg)
        naming = hydra.job.config.override_dirname
        self._naming = {
            "kv_sep": naming.kv_sep,
            "item_sep": naming.item_sep,
            "exclude_keys": list(naming.exclude_keys),
        }
        self._template_lines, self._template_keys = lines, tuple(o.key_or_group for o in parsed)

    def _from_template(self, lines: list[str], parsed: list[Any], num: int | None) -> ComposedJob | None:
        import pickle

        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        from ._hydra_compat import overrides_dirname
        from ._hydra_values import mentions_hydra

        template, node = self._template, self._template_node
        if template is None or node is None or len(lines) != len(self._template_lines):
            return None
        changed = [o for line, old, o in zip(lines, self._template_lines, parsed) if line != old]
        if self._template_keys != tuple(o.key_or_group for o in parsed):
            return None
        if not all(self._is_plain_value(o) for o in changed):
            return None
        task = pickle.loads(template)
        refs = list(self._template_refs)
        try:
            for override in changed:
                value = override.value()
                OmegaConf.update(task, override.key_or_group, value, merge=True)
                if mentions_hydra(value):
                    refs.append(tuple(override.key_or_group.split(".")))
        except OmegaConfBaseException:
            return None
        dirname = overrides_dirname(parsed, **self._naming)
        OmegaConf.copy_cache(from_config=self.primary, to_config=task)
        derived = _Derived(lines, dirname, self._template_keys, tuple(o.key_or_group for o in changed))
        return ComposedJob(task, num, node, derived=derived, output_keys=_output_keys(num), hydra_refs=refs)

    def compose(self, job_overrides: Sequence[str], num: int | None) -> ComposedJob:
        """The job's composition; numbered unless `num` is None (Hydra's own validation composes unnumbered)."""
        lines = list(job_overrides)
        parsed = [self._parse(line) for line in lines]
        job = self._from_template(lines, parsed, num)
        if job is not None:
            return job
        cfg = self.loader.load_sweep_config(self.primary, lines)
        if self._template is None and self._independent(parsed):
            self._keep_template(cfg, lines, parsed)
            job = self._from_template(lines, parsed, num)
            assert job is not None
            return job
        return ComposedJob.owning(cfg, num, output_keys=_output_keys(num))


class ComposingLoader:
    """Hydra's config loader with sweep jobs composed through a `SweepComposer`.

    Hydra's BasicSweeper composes every job once to validate a batch and then hands the same
    overrides to the launcher, which composes them again. The launcher installs this wrapper in
    the `HydraContext` it shares with the sweeper, so both compositions take the fast path.
    Everything else is the wrapped loader's.
    """

    def __init__(self, inner: ConfigLoader) -> None:
        self.inner = inner
        self._composers: dict[int, tuple[DictConfig, SweepComposer]] = {}

    @classmethod
    def wrap(cls, loader: ConfigLoader) -> ComposingLoader:
        return loader if isinstance(loader, ComposingLoader) else cls(loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def composer(self, primary: DictConfig) -> SweepComposer:
        known = self._composers.get(id(primary))
        if known is None or known[0] is not primary:
            known = self._composers[id(primary)] = (primary, SweepComposer(self.inner, primary))
        return known[1]

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        """The job's whole config, for Hydra's batch validation; its `hydra` node may be shared and is read-only."""
        return self.composer(master_config).compose(sweep_overrides, None).activate()


def as_job(cfg: DictConfig | ComposedJob) -> ComposedJob | None:
    """`cfg` as a job (a plain config with a `hydra` node is a single run, `hydra.run.dir`); None without one.

    A plain config becomes the job's own: its `hydra` node is taken out of it.
    """
    if isinstance(cfg, ComposedJob):
        return cfg
    if "hydra" not in cfg:
        return None
    return ComposedJob.owning(cfg, None, output_keys=RUN_DIR)


def task_config(cfg: DictConfig | ComposedJob) -> DictConfig:
    """The config a task receives: the composed tree without Hydra's own `hydra` node.

    Hydra's runtime is told about the job first (as Hydra's `run_job` does, `hydra.runtime.output_dir`
    included), so `HydraConfig.get()` resolves in-process, and the job's `${hydra:...}` interpolations
    are replaced by its own values (see `ComposedJob.fix_hydra_values`). A plain config is a single
    run (`hydra.run.dir`).
    """
    job = as_job(cfg)
    if job is None:
        return cfg  # type: ignore[return-value]
    job.activate()
    return job.fix_hydra_values()
