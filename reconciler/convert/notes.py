"""What the converter reports: every construct left out, and every caveat, with file and line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["NOT_CONVERTED", "TODO", "WARNING", "Note"]

NOT_CONVERTED = "not_converted"
WARNING = "warning"
TODO = "todo"  # written, but something must be done by hand before `validate` passes


@dataclass(frozen=True)
class Note:
    """One item of the report.

    ``what`` names the thing (``resource openai_fine_tuning_job.x left out``), ``reason`` says
    why (``count is not supported``). ``severity`` is ``not_converted`` (something is missing from
    the output), ``todo`` (written, but `validate` fails until it is done: a data file to put in
    place) or ``warning`` (converted, but look at it).
    """

    file: str
    line: int | None
    what: str
    reason: str
    severity: str = NOT_CONVERTED

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}; {self.what}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["severity"]
        return data
