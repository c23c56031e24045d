"""The one error tree of reconciler.

    ReconcilerError                 every error a user can cause or must act on (exit 1, one line)
    ├── SpecError                   one problem in a spec file (file, line, address, field path)
    │   └── SpecErrors              several SpecError, reported together
    ├── StateError                  the state file cannot be read or written
    │   ├── StateLockedError        another process holds the lock
    │   └── StalePlanError          a saved plan no longer matches the state
    ├── PlanError                   the plan would break a rule (prevent_destroy, max-deletes, ...)
    ├── ConfigError                 missing key, bad base URL, bad flag combination
    └── ApiError                    the API answered with an error or could not be reached
        ├── AuthError               401 / 403
        ├── NotFoundError           404
        ├── RateLimitError          429 after retries ran out
        └── ConnectionFailedError   network failures after retries ran out

The CLI maps ReconcilerError to exit code 1 and a single line; anything else is a bug
(exit 3 and a crash log). The core never prints: it raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "ConnectionFailedError",
    "NotFoundError",
    "PlanError",
    "RateLimitError",
    "ReconcilerError",
    "SpecError",
    "SpecErrors",
    "StalePlanError",
    "StateError",
    "StateLockedError",
]


class ReconcilerError(Exception):
    """Base of every expected error. str(error) is the one line shown to the user."""


@dataclass
class SpecError(ReconcilerError):
    """One problem in one spec document.

    Rendered as ``path/to/file.yaml:LINE: Kind.name: field.path: message``; parts that are not
    known (no address yet, no field) are left out.
    """

    file: str
    line: int | None
    message: str
    address: str | None = None
    field: str | None = None
    severity: str = "error"  # or "warning"

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickling would call SpecError(str(self)); the spec cache stores warnings
        return (type(self), (self.file, self.line, self.message, self.address, self.field, self.severity))

    def order(self) -> tuple[Any, ...]:
        """Sort key: file, line, then the text with its numbers compared as numbers (a training
        file's "line 2: ..." before "line 10: ...")."""
        return (self.file, self.line or 0, [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(self))])

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.address:
            parts.append(self.address)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)

    def __hash__(self) -> int:
        return hash(str(self))


class SpecErrors(ReconcilerError):
    """Several spec errors found in one pass; all are reported, sorted by file and line."""

    def __init__(self, errors: Iterable[SpecError]):
        self.errors = sorted(errors, key=SpecError.order)
        super().__init__(self.summary())

    def summary(self) -> str:
        n = len(self.errors)
        first = str(self.errors[0]) if self.errors else "no errors"
        return first if n == 1 else f"{first} (and {n - 1} more)"


class StateError(ReconcilerError):
    pass


class StateLockedError(StateError):
    pass


class StalePlanError(StateError):
    pass


class PlanError(ReconcilerError):
    pass


class ConfigError(ReconcilerError):
    pass


class ApiError(ReconcilerError):
    """An error answer from the API (after retries), as one line with the request id."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ):
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.type = type
        self.request_id = request_id
        self.method = method
        self.path = path
        self.credential: str | None = None  # set by the client on an error answer: "api_key" or "admin_key"
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = f"{self.method} {self.path}" if self.method and self.path else "API"
        status = f" → {self.status}" if self.status else ""
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{head}{status}: {self.message}{rid}"


class AuthError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class RateLimitError(ApiError):
    pass


class ConnectionFailedError(ApiError):
    pass
