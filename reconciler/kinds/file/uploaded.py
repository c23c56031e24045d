"""How an upload that may have had its effect is found again in the files list: shared by the
single request (apply.py) and the Upload in parts (large.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from reconciler.api.errors import AmbiguousCreateError
from reconciler.errors import ApiError, ConnectionFailedError
from reconciler.kinds.base import ApplyContext

__all__ = ["CLOCK_SKEW", "ambiguous", "find_uploaded"]

CLOCK_SKEW = 120  # seconds: how far the API's created_at may lag this machine's clock


def ambiguous(exc: ApiError) -> bool:
    return isinstance(exc, (AmbiguousCreateError, ConnectionFailedError)) or (exc.status or 0) >= 500 \
        or exc.status in (408, 409)


def find_uploaded(ctx: ApplyContext, name: str, size: int, purpose: str, sha: str, *,
                   since: float) -> tuple[dict[str, Any] | None, list[str]]:
    """A file this upload made (same name, size, purpose, sha256, recent, unmanaged), and the ids
    of candidates whose content could not be read."""
    managed = {r.id for r in ctx.state.resources.values() if r.id}
    unverified: list[str] = []
    candidates = [f for f in ctx.client.list_files(purpose)
                  if f.get("filename") == name and f.get("bytes") == size and f.get("purpose", purpose) == purpose
                  and f.get("status") not in ("error", "deleted") and f["id"] not in managed
                  and not (isinstance(f.get("created_at"), (int, float)) and f["created_at"] < since)]
    for obj in sorted(candidates, key=lambda f: f.get("created_at") or 0, reverse=True):
        try:
            content = ctx.client.download_file(obj["id"])
        except ApiError:
            unverified.append(str(obj["id"]))
            continue
        if hashlib.sha256(content).hexdigest() == sha:
            return dict(obj), []
    return None, unverified
