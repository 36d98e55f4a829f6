"""The `hydra/launcher=flyte` config node, registered when Hydra scans `hydra_plugins`."""

from dataclasses import dataclass
from typing import Optional

from hydra.core.config_store import ConfigStore


@dataclass
class FlyteLauncherConf:
    """Settings under `hydra.launcher` (e.g. `hydra.launcher.mode=local`)."""

    _target_: str = "hydra_plugins.hydra_flyte_launcher.FlyteLauncher"
    # `remote` submits to the configured Flyte endpoint; `local` runs in this process.
    mode: str = "remote"
    # Wait for remote runs and hand their outputs to the sweeper; false returns run handles right away.
    wait: bool = True
    # Threads that wait on remote runs at once; null means one per run.
    wait_max_workers: Optional[int] = 32
    # Runs in flight at once (rolling); null means no cap remotely and one at a time locally.
    max_parallel: Optional[int] = None
    # After the first failed job, start no more.
    fail_fast: bool = False
    # Compose and list every job, run none.
    dry_run: bool = False
    # A sweep directory of an earlier run: run again only its jobs not recorded as succeeded.
    rerun_failed: Optional[str] = None
    # Config key holding per-task settings (shown by dry_run; apply them with apply_task_env).
    task_env_key: str = "task_env"


# Stored at the `hydra` package so that selecting the launcher also installs the callback that gives
# plain (non --multirun) runs the same mode and wait behaviour; Hydra calls no launcher for those.
ConfigStore.instance().store(
    group="hydra/launcher",
    name="flyte",
    package="hydra",
    node={
        "launcher": FlyteLauncherConf(),
        "callbacks": {"flyte_launcher": {"_target_": "flyteplugins.hydra._single_run.SingleRunCallback"}},
    },
    provider="flyte",
)
