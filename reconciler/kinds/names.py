"""The resource kinds' names as specs, state and plans spell them: in one module so that one kind's
folder can name another (a File planned for a job's use, a job's training File) without the two
folders importing each other. Nothing outside kinds/ uses them (tests/test_kind_names.py)."""

from __future__ import annotations

__all__ = ["FILE", "JOB", "PERMISSION"]

FILE = "File"
JOB = "FineTuningJob"
PERMISSION = "CheckpointPermission"
