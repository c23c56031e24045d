"""The `kind: Policy` document:

    kind: Policy
    name: allowed_models
    spec:
      match: [FineTuningJob]                     # kinds it applies to (type or kind as written)
      rule: 'object.spec.model.startsWith("gpt-4o-mini")'    # CEL, true = compliant
      message: only gpt-4o-mini may be fine-tuned here
      enforcement: deny                          # deny (apply refuses) or warn (shown, proceeds)

The rule is compiled when the document is loaded: a syntax error, a name other than `object` and
`plan`, or a rule that plainly cannot give a boolean is reported by `validate`, before any request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.config.documents import display_path
from reconciler.config.positions import line_finder
from reconciler.config.schema import describe, suggest
from reconciler.errors import SpecError
from reconciler.expr import Expression, Where, compile_expression

__all__ = ["ENFORCEMENTS", "POLICY_KIND", "POLICY_NAMES", "Policy", "check_policy_document", "policy_document_schema"]

POLICY_KIND = "Policy"
ENFORCEMENTS = ("deny", "warn")
POLICY_NAMES = ("object", "plan")  # what a rule can read (reconciler/policy/engine.py builds them)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOP = ("kind", "name", "spec")
_SPEC = ("match", "rule", "message", "enforcement")


@dataclass(frozen=True)
class Policy:
    name: str
    match: tuple[str, ...]
    rule: Expression
    message: str
    enforcement: str
    file: str
    line: int

    @property
    def address(self) -> str:
        return f"{POLICY_KIND}.{self.name}"

    def matches(self, kind: str, type_: str) -> bool:
        return kind in self.match or type_ in self.match


def check_policy_document(doc: Mapping[str, Any], file: str, line: int, positions: Mapping[str, int],
                          kinds: tuple[str, ...]) -> tuple[Policy | None, list[SpecError]]:
    """A compiled Policy, or every problem of the document (one line each, file:line)."""
    line_of = line_finder(positions, line)

    name = doc.get("name")
    address = f"{POLICY_KIND}.{name}" if isinstance(name, str) else None
    errors: list[SpecError] = []

    def error(where: tuple[str | int, ...], message: str) -> None:
        field = display_path(where) or None
        errors.append(SpecError(file, line_of(where), message, address, field))

    for key in doc:
        if key not in _TOP:
            error((str(key),), f"unknown field {key!r}{suggest(str(key), _TOP)}; a Policy holds kind, name and spec")
    if not isinstance(name, str) or not _NAME.match(name):
        error(("name",), f"expected a name of letters, digits, _ and - (up to 64), got {describe(name)}")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        error(("spec",), f"expected a mapping with match, rule, message and enforcement, got {describe(spec)}")
        return None, errors
    for key in spec:
        if key not in _SPEC:
            error(("spec", str(key)), f"unknown field {key!r}{suggest(str(key), _SPEC)}")
    for key in ("match", "rule", "message"):
        if key not in spec:
            error(("spec",), f"missing required field {key!r}")
    match = spec.get("match")
    if "match" in spec:
        if not isinstance(match, list) or not match or not all(isinstance(m, str) for m in match):
            error(("spec", "match"), f"expected a non-empty list of kinds, got {describe(match)}")
        else:
            for i, kind in enumerate(match):
                if kind not in kinds:
                    error(("spec", "match", i), f"unknown kind {kind!r}{suggest(kind, kinds)}; kinds are "
                          f"{', '.join(kinds)}")
    message = spec.get("message")
    if "message" in spec and (not isinstance(message, str) or not message.strip()):
        error(("spec", "message"), f"expected a non-empty text, got {describe(message)}")
    enforcement = spec.get("enforcement", "deny")
    if enforcement not in ENFORCEMENTS:
        error(("spec", "enforcement"), f"expected deny or warn, got {describe(enforcement)}")
    rule: Expression | None = None
    if "rule" in spec:
        try:
            rule = compile_expression(spec["rule"], POLICY_NAMES, Where(file, line_of(("spec", "rule")), address,
                                                                        "spec.rule"))
        except SpecError as exc:
            errors.append(exc)
    if errors or rule is None:
        return None, errors
    return Policy(str(name), tuple(match or ()), rule, str(message), str(enforcement), file, line), []


def policy_document_schema() -> dict[str, Any]:
    """The JSON Schema of a Policy document (for editors; the loader checks it with
    `check_policy_document`, which also compiles the rule)."""
    return {
        "type": "object",
        "description": "A policy: a CEL rule every planned object of the matched kinds must satisfy.",
        "properties": {
            "kind": {"const": POLICY_KIND},
            "name": {"type": "string", "pattern": _NAME.pattern, "description": "Rule name Policy.NAME."},
            "spec": {
                "type": "object",
                "properties": {
                    "match": {"type": "array", "minItems": 1, "items": {"type": "string"},
                              "description": "Kinds it applies to, e.g. [FineTuningJob]."},
                    "rule": {"type": "string", "minLength": 1,
                             "description": "CEL over object and plan; true means compliant."},
                    "message": {"type": "string", "minLength": 1, "description": "Shown when the rule is false."},
                    "enforcement": {"enum": list(ENFORCEMENTS), "default": "deny",
                                    "description": "deny: apply refuses; warn: shown, apply proceeds."},
                },
                "required": ["match", "rule", "message"],
                "additionalProperties": False,
            },
        },
        "required": ["kind", "name", "spec"],
        "additionalProperties": False,
    }
