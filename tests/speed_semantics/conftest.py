"""Fixtures of the speed-semantics suite: the e2e world (real CLI, real sandbox over HTTP)."""

from tests.e2e.conftest import world as world
