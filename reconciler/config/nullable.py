"""Fields a rule may find absent, and the warning `validate` gives for a rule that reads one without
testing it with `has()` first (a rule that fails to evaluate fails its change: a deny for a deny rule).

Absent from `object` (reconciler/policy/engine.py):

    object.cost.*     a job's cost figures when its cost is unknown (usd, billed_tokens, epochs, ...)
    object.inputs.*   values known only after apply (the id of a file uploaded by the same apply)
    object.spec.F     a field F the kind does not require, when the spec does not write it
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.config.policies import Policy
from reconciler.errors import SpecError
from reconciler.expr.reads import Path, member_reads

__all__ = ["nullable_warnings", "unguarded_reads"]

_WHY = {"cost": "absent when the job's cost is unknown",
        "inputs": "absent while it is known only after apply",
        "spec": "absent when the spec does not write it"}


def _nullable_prefix(path: Path, required_spec: set[str]) -> Path | None:
    """The shortest prefix of `path` that may be absent, if any."""
    if len(path) < 3 or path[0] != "object":
        return None
    if path[1] in ("cost", "inputs"):
        return path[:3]
    if path[1] == "spec" and path[2] not in required_spec:
        return path[:3]
    return None


def unguarded_reads(policy: Policy, required: Mapping[str, Iterable[str]]) -> list[Path]:
    """The nullable prefixes the rule reads without a has() that tests them (or a path under them).
    `required`: kind -> the spec fields that kind requires (a field optional in any matched kind
    may be absent)."""
    known = [set(required.get(kind, ())) for kind in policy.match]
    everywhere = set.intersection(*known) if known else set()
    reads, guarded = member_reads(policy.rule)
    found = []
    for prefix in sorted({p for path in reads if (p := _nullable_prefix(path, everywhere)) is not None}):
        if not any(g[:len(prefix)] == prefix for g in guarded):
            found.append(prefix)
    return found


def nullable_warnings(policy: Policy, required: Mapping[str, Iterable[str]]) -> list[SpecError]:
    """One warning per nullable field the rule reads without has()."""
    where = policy.rule.where
    outcome = "denies" if policy.enforcement == "deny" else "warns on"
    out = []
    for prefix in unguarded_reads(policy, required):
        dotted = ".".join(prefix)
        out.append(SpecError(where.file, where.line,
                             f"reads {dotted} without has(): it is {_WHY[prefix[1]]}, and the rule then fails "
                             f"to evaluate, which {outcome} that change; say what absent means with "
                             f"has({dotted}) && … or !has({dotted}) || …", where.address, where.field, "warning"))
    return out
