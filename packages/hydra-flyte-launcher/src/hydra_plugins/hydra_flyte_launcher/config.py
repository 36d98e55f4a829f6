"""The `hydra/launcher=flyte` config node, registered when Hydra scans `hydra_plugins`.

Its fields and defaults are the launch options of `flyteplugins.hydra.engine`, made into the
dataclass Hydra wants, so the launcher offers exactly the options every other surface does.
"""

from hydra.core.config_store import ConfigStore

from flyteplugins.hydra.engine import launcher_config_class

FlyteLauncherConf = launcher_config_class("hydra_plugins.hydra_flyte_launcher.FlyteLauncher")

# Stored at the `hydra` package so that selecting the launcher also installs the callback that gives
# plain (non --multirun) runs the same options; Hydra calls no launcher for those.
ConfigStore.instance().store(
    group="hydra/launcher",
    name="flyte",
    package="hydra",
    node={
        "launcher": FlyteLauncherConf(),
        "callbacks": {"flyte_launcher": {"_target_": "flyteplugins.hydra.engine.SingleRunCallback"}},
    },
    provider="flyte",
)
