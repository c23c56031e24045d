"""Compiled validators of the spec language's JSON Schemas (fastjsonschema), one module per kind.

Checking 2,000 documents with jsonschema's `iter_errors` took most of `reconciler validate`; the
compiled validators answer "valid" about ten times faster. They only ever say yes or no: on any
failure the loader asks jsonschema again, so every message (file:line, field, did-you-mean) stays
the one jsonschema's errors are translated into (`reconciler.config.schema`).

The modules are generated when the package is built or installed (generate.py, run by the in-tree
build backend _build/backend.py), never committed and never edited; compiling them at run time
would cost every cold run ~0.15 s for the FineTuningJob schema (BENCHMARKS.md). In a checkout,
after changing a schema:

    python -m reconciler.config.compiled      # or pip install -e . again

Each records the sha256 of the schema text it was made from; a module whose schema changed since,
or one missing, is not used (jsonschema alone decides) and
tests/config/test_compiled_schema.py fails until it is written again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any

from reconciler.config.compiled.generate import module_name, sha256
from reconciler.config.schema_files import schema_text

__all__ = ["module_name", "validator"]


@cache
def validator(kind: str) -> Callable[[Any], Any] | None:
    """The compiled validator of `kind` (raises on an invalid document), or None when there is
    none or it was made from another version of the schema."""
    try:
        module = importlib.import_module(f"{__name__}.{module_name(kind)}")
    except ImportError:
        return None
    if getattr(module, "SCHEMA_SHA256", None) != sha256(schema_text(f"{kind}.schema.json")):
        return None
    found: Callable[[Any], Any] | None = getattr(module, "validate", None)
    return found
