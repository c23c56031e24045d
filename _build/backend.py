"""The build backend: setuptools', after writing the compiled validators into the source tree
(reconciler/config/compiled/k_*.py, git-ignored) so every wheel and every editable install has
them without committing generated code. The generator is loaded by its path: the build
environment holds setuptools, wheel and fastjsonschema, not reconciler's dependencies."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the PEP 517 hooks not wrapped below)

ROOT = Path(__file__).resolve().parent.parent
COMPILED = ROOT / "reconciler" / "config" / "compiled"


def _write_validators() -> None:
    spec = importlib.util.spec_from_file_location("_reconciler_generate", COMPILED / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_all(ROOT / "reconciler" / "config" / "schema", COMPILED)


def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                metadata_directory: str | None = None) -> str:
    _write_validators()
    return str(_setuptools.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                   metadata_directory: str | None = None) -> str:
    _write_validators()
    return str(_setuptools.build_editable(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    _write_validators()
    return str(_setuptools.build_sdist(sdist_directory, config_settings))
