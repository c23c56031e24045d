"""The e2e `world` fixture (the real CLI against the real sandbox over HTTP) for the policy tests."""

from tests.e2e.conftest import world

__all__ = ["world"]
