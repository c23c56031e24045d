"""Walk every page of a cursor-paginated list.

Jobs, events, checkpoints and files continue with `after` = the id of the last item; checkpoint
permissions with `after` = the page's `last_id` (falling back to the last item's id). Both stop
when `has_more` is false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from reconciler.errors import ApiError

__all__ = ["paginate"]

Cursor = Literal["last_item", "last_id"]


def paginate(fetch: Callable[[str | None], Any], *, cursor: Cursor = "last_item",
             what: str = "list") -> Iterator[dict[str, Any]]:
    """Yield items from `fetch(after)` pages until `has_more` is false.

    Raises ApiError when a page is not a list object or the cursor would not advance (a server
    that keeps saying has_more with the same cursor would otherwise loop forever).
    """
    after: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(after)
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise ApiError(f"unexpected answer while listing {what}: not a list object")
        items: list[Any] = page["data"]
        yield from items
        if not page.get("has_more") or not items:
            return
        next_after: Any = None
        if cursor == "last_id":
            next_after = page.get("last_id")
        if not next_after:
            last = items[-1]
            next_after = last.get("id") if isinstance(last, dict) else None
        if not isinstance(next_after, str) or not next_after or next_after in seen:
            raise ApiError(f"pagination of {what} did not advance (cursor {next_after!r})")
        seen.add(next_after)
        after = next_after
