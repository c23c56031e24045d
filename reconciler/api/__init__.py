"""The API client: auth, retries with Retry-After, pagination, error mapping, bounded parallelism.

The names below are imported on first use (PEP 562): `reconciler.api.protocols` is needed by the
kinds, which `validate` loads, and must not pull in httpx (about a third of a second)."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

# httpx imports its own command-line client when rich, pygments and click are installed (they are:
# rich draws apply --wait's table): about a quarter of a second of every plan, never used here.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from reconciler.api.client import ApiClient, ClientStats
    from reconciler.api.parallel import map_bounded
    from reconciler.api.retry import RetryInfo, RetryPolicy

__all__ = ["ApiClient", "ClientStats", "RetryInfo", "RetryPolicy", "map_bounded"]

_WHERE = {"ApiClient": "client", "ClientStats": "client", "map_bounded": "parallel", "RetryInfo": "retry",
          "RetryPolicy": "retry"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
