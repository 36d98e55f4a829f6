"""The launcher class Hydra instantiates: Hydra only accepts plugins defined under `hydra_plugins`."""

from flyteplugins.hydra import FlyteLauncher as _CoreFlyteLauncher


class FlyteLauncher(_CoreFlyteLauncher):
    """Hydra's handle on the core `FlyteLauncher`; all behaviour lives in the core."""
