"""LegacyFineTune: the retired fine-tunes API's `openai_finetune` shape (seed 004). Validation maps
it onto a FineTuningJob (reconciler/config/legacy.py); from then on it is planned, applied and
stored as one, so every behaviour but the spelling is the job kind's."""

from __future__ import annotations

from typing import Any

from reconciler.config.legacy import map_legacy
from reconciler.kinds.job.checks import check_job
from reconciler.kinds.job.kind import JobKind
from reconciler.kinds.legacy.schema import legacy_spec

__all__ = ["LEGACY"]


class LegacyKind(JobKind):
    name = "LegacyFineTune"
    type = JobKind.type
    terraform_types = ("openai_finetune",)
    uses_graders = False

    def spec_schema(self) -> dict[str, Any]:
        return legacy_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:

        job, findings = map_legacy(spec)
        if any(f.severity == "error" for f in findings):
            return job, findings
        job, more = check_job(job)
        return job, findings + more


LEGACY = LegacyKind()
