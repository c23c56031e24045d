"""Walk every page of a cursor-paginated list, within bounds.

Jobs, events, checkpoints and files continue with `after` = the id of the last item; checkpoint
permissions with `after` = the page's `last_id` (falling back to the last item's id). Both stop
when `has_more` is false.

A listing is bounded: at most `max_pages` pages and `max_items` items, a cursor is never used
twice (a server that cycles would otherwise loop forever), and every item must have the shape the
rest of reconciler relies on (an object with a string `id`; `metadata`, when present, an object
or null). Each breach is one `ApiError` line naming the endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from reconciler.errors import ApiError

__all__ = ["DEFAULT_MAX_ITEMS", "DEFAULT_MAX_PAGES", "item_problem", "paginate"]

Cursor = Literal["last_item", "last_id"]

DEFAULT_MAX_PAGES = 10_000
DEFAULT_MAX_ITEMS = 1_000_000


def item_problem(item: Any) -> str | None:
    """What is wrong with one listed item, or None."""
    if not isinstance(item, dict):
        return f"not an object ({type(item).__name__})"
    ident = item.get("id")
    if not isinstance(ident, str) or not ident:
        return "no 'id'" if ident is None else f"'id' is not a non-empty string ({ident!r:.40})"
    metadata = item.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return f"'metadata' of {ident!r:.60} is not an object or null ({metadata!r:.40})"
    return None


def paginate(fetch: Callable[[str | None], Any], *, cursor: Cursor = "last_item", what: str = "list",
             max_pages: int = DEFAULT_MAX_PAGES, max_items: int = DEFAULT_MAX_ITEMS) -> Iterator[dict[str, Any]]:
    """Yield items from `fetch(after)` pages until `has_more` is false.

    `what` is the endpoint's path; errors read `GET <what>: ...`. Raises ApiError when a page is
    not a list object, an item is malformed, the cursor would not advance, or a bound is reached.
    """
    def fail(message: str) -> ApiError:
        return ApiError(message, method="GET", path=what)

    after: str | None = None
    seen: set[str] = set()
    pages = 0
    count = 0
    while True:
        if pages >= max_pages:
            raise fail(f"the listing did not end after {pages} pages (the server keeps answering "
                       "has_more=true; the bound is RECONCILER_API_MAX_PAGES): refusing to read further")
        page = fetch(after)
        pages += 1
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise fail("unexpected answer while listing: not a list object")
        items: list[Any] = page["data"]
        if count + len(items) > max_items:
            raise fail(f"the listing holds more than {max_items} items (page {pages}): refusing to read further")
        for index, item in enumerate(items):
            problem = item_problem(item)
            if problem is not None:
                raise fail(f"malformed item {count + index} (page {pages}, position {index}) in the listing: "
                           f"{problem}")
        count += len(items)
        yield from items
        if not page.get("has_more") or not items:
            return
        next_after: Any = None
        if cursor == "last_id":
            next_after = page.get("last_id")
        if not next_after:
            next_after = items[-1]["id"]
        if not isinstance(next_after, str) or not next_after or next_after in seen:
            raise fail(f"pagination did not advance: cursor {next_after!r:.60} was already used (page {pages})")
        seen.add(next_after)
        after = next_after
