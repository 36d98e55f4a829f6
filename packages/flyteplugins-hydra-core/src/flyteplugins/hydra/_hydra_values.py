"""A job's `${hydra:...}` interpolations, replaced by its own values once it is Hydra's current job.

Hydra's `hydra` resolver reads `HydraConfig.get()` whenever a value is read, not when the job is
composed. A `@hydra.main` app runs one job at a time in the process that composed it, so that is
the same job; a Flyte run is not: a local job may run while the next is being prepared, and a
remote job's config is read on a cluster where no Hydra runs at all. So each job's values are
written into its own config while it is current, and only those: other interpolations
(`${data.path}`, `${oc.env:...}`) stay as they are, to be resolved where the task runs.

A value that is exactly one `${hydra:key}` becomes what Hydra resolves it to (an int stays an int).
In a longer string each top-level `${hydra:key}` is replaced by its text and the rest is kept; a
string where that cannot be done faithfully (`${hydra:...}` inside another interpolation, escapes,
values that would read as interpolations) is resolved whole, as OmegaConf resolves it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omegaconf import DictConfig

Path = tuple[Any, ...]

_ONE = re.compile(r"\$\{hydra:([\w./\-]+)\}")
_UNSAFE = ("$", "{", "}", "\\")


def mentions_hydra(value: Any) -> bool:
    """Whether a value as written may hold a `${hydra:...}` interpolation."""
    return isinstance(value, str) and "${" in value and "hydra:" in value


def hydra_refs(cfg: DictConfig) -> list[Path]:
    """The paths of every value of `cfg` that may hold a `${hydra:...}` interpolation (none resolved)."""
    from omegaconf import DictConfig, ListConfig

    found: list[Path] = []

    def walk(node: Any, path: Path) -> None:
        if node._is_interpolation():
            if mentions_hydra(node._value()):
                found.append(path)
            return
        if isinstance(node, DictConfig):
            content = node.__dict__["_content"]
            if isinstance(content, dict):
                for key, child in content.items():
                    walk(child, (*path, key))
        elif isinstance(node, ListConfig):
            content = node.__dict__["_content"]
            if isinstance(content, list):
                for index, child in enumerate(content):
                    walk(child, (*path, index))

    walk(cfg, ())
    return found


def _locate(cfg: DictConfig, path: Path) -> tuple[Any, Any] | None:
    """The container holding the value at `path`, and its key there (None if the path is gone)."""
    from omegaconf import ListConfig

    def key_in(parent: Any, key: Any) -> Any:
        return int(key) if isinstance(parent, ListConfig) and isinstance(key, str) and key.isdigit() else key

    parent: Any = cfg
    for key in path[:-1]:
        parent = parent._get_node(key_in(parent, key))
        if parent is None or not hasattr(parent, "_get_node"):
            return None
    return parent, key_in(parent, path[-1])


def _spliced(raw: str) -> str | None:
    """`raw` with each top-level `${hydra:key}` replaced by the current job's value, or None if unsafe."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    if "\\" in raw or raw.count("{") != raw.count("${"):
        return None
    pieces, at = [], 0
    for match in _ONE.finditer(raw):
        before = raw[: match.start()]
        if before.count("${") != before.count("}"):
            return None  # inside another interpolation: its arguments would need quoting
        value = OmegaConf.select(HydraConfig.get(), match.group(1))
        if type(value) not in (str, int) or any(c in str(value) for c in _UNSAFE):
            return None
        pieces += [raw[at : match.start()], str(value)]
        at = match.end()
    rest = "".join(pieces) + raw[at:]
    return None if mentions_hydra(rest) else rest


def fix_hydra_values(cfg: DictConfig, refs: list[Path]) -> None:
    """Replace the `${hydra:...}` interpolations at `refs` in `cfg` by the current job's values."""
    from omegaconf import Container, OmegaConf, flag_override

    for path in refs:
        located = _locate(cfg, path)
        if located is None:
            continue
        parent, key = located
        node = parent._get_node(key)
        raw = node._value() if node is not None else None
        if not mentions_hydra(raw):
            continue  # a job's override replaced the template's interpolation
        value = None if _ONE.fullmatch(raw) else _spliced(raw)
        if value is None:
            value = parent[key]
            if isinstance(value, Container):
                value = OmegaConf.to_container(value, resolve=True)
        with flag_override(parent, "readonly", False):
            parent[key] = value
