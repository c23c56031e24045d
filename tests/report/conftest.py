"""The e2e `world` fixture (the real CLI against the real sandbox over HTTP) for the report tests;
test_report_e2e.py defines its own, with more examples."""

from tests.e2e.conftest import world

__all__ = ["world"]
