"""What a cluster driver can read from the code bundle: files under flyte's `root_dir`, which is what gets bundled.

Both drivers need their inputs there (the SDK/CLI driver the config directory of a sampling sweep,
the app driver the app file and its configs), and both refuse before submission what lies outside.
"""

from __future__ import annotations

from pathlib import Path


def flyte_root_dir() -> Path:
    """flyte's `root_dir` (the current directory unless `flyte.init` set one), resolved."""
    from ._flyte_compat import get_init_config_or_none

    config = get_init_config_or_none()
    return Path(config.root_dir if config is not None and config.root_dir else Path.cwd()).resolve()


def relative_in_bundle(where: Path, root: Path, refusal: str) -> Path:
    """`where` relative to `root`; a `ConfigurationError` saying `refusal` when it is outside."""
    from ._errors import ConfigurationError

    try:
        return where.relative_to(root)
    except ValueError:
        raise ConfigurationError(refusal) from None


def bundled_files(folder: Path, root: Path) -> list[str]:
    """Every file under `folder` (caches aside), relative to `root`, to add to the bundle."""
    return sorted(str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
