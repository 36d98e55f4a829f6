"""The launcher class Hydra instantiates: Hydra only accepts plugins defined under `hydra_plugins`."""

from flyteplugins.hydra import FlyteLauncher as _CoreFlyteLauncher


class FlyteLauncher(_CoreFlyteLauncher):
    """Hydra's handle on the core `FlyteLauncher`; all behaviour lives in the core.

    Only the core's public API is used here, so this distribution works with every core 3.x.
    """
