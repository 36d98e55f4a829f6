"""The loopback control-plane fixture, for the tests in this folder."""

from flyte_loopback.pytest_plugin import flyte_loopback

__all__ = ["flyte_loopback"]
