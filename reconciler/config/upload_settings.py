"""`uploads` in the Settings document: when a File goes through the Uploads API, and how.

    kind: Settings
    name: default
    spec:
      uploads: {threshold_bytes: 536870912, part_bytes: 67108864, parallel_parts: 4}

A file larger than `threshold_bytes` (default 512 MiB, the Files API's limit) is sent as an Upload
(`POST /v1/uploads`) in parts of `part_bytes` (at most 64 MiB, the API's limit for a Part),
`parallel_parts` at a time; smaller ones in one `POST /v1/files`. The plan shows which path each
file takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FILES_API_LIMIT", "PART_LIMIT", "UploadSettings", "upload_settings_from_spec", "uploads_schema"]

FILES_API_LIMIT = 512 * 1024 * 1024   # the Files API takes at most 512 MB in one request
PART_LIMIT = 64 * 1024 * 1024         # the Uploads API takes Parts of at most 64 MB
UPLOAD_LIMIT = 8 * 1024 ** 3          # and at most 8 GB in all
DEFAULT_PARALLEL = 4


@dataclass(frozen=True)
class UploadSettings:
    threshold_bytes: int = FILES_API_LIMIT
    part_bytes: int = PART_LIMIT
    parallel_parts: int = DEFAULT_PARALLEL

    def via_uploads(self, size: int) -> bool:
        return size > self.threshold_bytes

    def parts(self, size: int) -> int:
        return max(1, -(-size // self.part_bytes))


def uploads_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "When a File is sent through the Uploads API (in parts) instead of one Files API request.",
        "properties": {
            "threshold_bytes": {
                "type": "integer", "minimum": 1, "maximum": FILES_API_LIMIT, "default": FILES_API_LIMIT,
                "description": "A file larger than this goes as an Upload in parts (default 512 MiB, the Files "
                               "API's limit).",
            },
            "part_bytes": {
                "type": "integer", "minimum": 1, "maximum": PART_LIMIT, "default": PART_LIMIT,
                "description": "The size of each Part but the last (at most 64 MiB, the API's limit).",
            },
            "parallel_parts": {
                "type": "integer", "minimum": 1, "maximum": 16, "default": DEFAULT_PARALLEL,
                "description": "Parts sent at once; memory stays bounded (each Part streams from disk).",
            },
        },
        "additionalProperties": False,
    }


def upload_settings_from_spec(raw: dict[str, Any] | None) -> UploadSettings:
    raw = raw or {}
    return UploadSettings(threshold_bytes=int(raw.get("threshold_bytes", FILES_API_LIMIT)),
                          part_bytes=int(raw.get("part_bytes", PART_LIMIT)),
                          parallel_parts=int(raw.get("parallel_parts", DEFAULT_PARALLEL)))
