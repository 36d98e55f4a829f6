"""Hydra's own launcher conformance suites, run against `hydra/launcher=flyte` in local mode."""

import pytest
from hydra.test_utils.launcher_common_tests import IntegrationTestSuite, LauncherTestSuite


@pytest.mark.parametrize("launcher_name, overrides", [("flyte", ["hydra.launcher.mode=local"])])
class TestFlyteLauncher(LauncherTestSuite):
    pass


@pytest.mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [({}, ["-m", "hydra/launcher=flyte", "hydra.launcher.mode=local"])],
)
class TestFlyteLauncherIntegration(IntegrationTestSuite):
    pass
