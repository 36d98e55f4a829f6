"""`hydra/launcher=flyte` for `@hydra.main` apps; the work is done by `flyteplugins.hydra`.

`FlyteLauncher` and `FlyteLauncherConfig` are importable from here, as in flyteplugins-hydra 2.x,
and the config's `_target_` is still `hydra_plugins.hydra_flyte_launcher.FlyteLauncher`: apps
compare it to tell whether Flyte launches them. Hydra scans this package for every app, so it
imports only Hydra's own launcher base (which Hydra has loaded already), never `flyte`.
"""

from flyteplugins.hydra import FlyteLauncher as _CoreFlyteLauncher

from .config import FlyteLauncherConf

__all__ = ["FlyteLauncher", "FlyteLauncherConf", "FlyteLauncherConfig"]

FlyteLauncherConfig = FlyteLauncherConf  # the 2.x name of the config dataclass


class FlyteLauncher(_CoreFlyteLauncher):
    """Hydra's handle on the core `FlyteLauncher`, under the `_target_` that 2.x configs and apps name."""
