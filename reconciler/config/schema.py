"""The JSON Schemas of the spec language (package data under schema/) and the translation of
jsonschema errors into one human line each: "unknown field 'sufix' (did you mean 'suffix'?)",
"longer than 64 characters", "expected an integer or \"auto\", got 'three'"."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.config.schema_files import schema_text
from reconciler.config.schema_parts import (
    ADDRESS_PATTERN,
    DURATION_PATTERN,
    NAME_PATTERN,
    REF_PATTERN,
)

__all__ = ["Problem", "describe", "kind_schema", "schema_text", "suggest", "validate"]


@dataclass(frozen=True)
class Problem:
    path: tuple[Any, ...]  # where to point (line): the offending key or value
    field: tuple[Any, ...]  # the field path shown in the message
    message: str


@cache
def kind_schema(kind: str) -> dict[str, Any]:
    return dict(json.loads(schema_text(f"{kind}.schema.json")))


@cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(kind_schema(kind))


def validate(kind: str, document: dict[str, Any]) -> list[Problem]:
    """Every problem of a whole document (kind, name, spec, lifecycle, depends_on) against its kind.

    The compiled validator (reconciler/config/compiled) answers first; only a document it rejects
    goes through jsonschema, whose errors make the messages (so they are the same either way)."""
    from reconciler.config.compiled import validator  # lazy: start-up

    fast = validator(kind)
    if fast is not None:
        try:
            fast(document)
            return []
        except Exception:  # invalid (or a value it cannot judge): jsonschema says what and where
            pass
    root = kind_schema(kind)
    problems: list[Problem] = []
    for error in _validator(kind).iter_errors(document):
        problems.extend(_translate(error, root))
    # "unknown field 'specs' (did you mean 'spec'?)" explains "missing required field 'spec'"
    explained = {
        (p.field, m.group(1))
        for p in problems
        for m in [re.search(r"\(did you mean '([^']+)'\?\)$", p.message)]
        if m and "unknown" in p.message
    }
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for p in problems:
        key = (p.path, p.field, p.message)
        m = re.match(r"missing required field '([^']+)'$", p.message)
        if m and (p.field, m.group(1)) in explained:
            continue
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}

_PATTERNS = {
    NAME_PATTERN: "must start with a letter or _ and hold only letters, digits, _ and - (at most 64 characters)",
    ADDRESS_PATTERN: 'is not an address like FineTuningJob.name, FineTuningJob.name["key"] or '
                     "data.FineTuningJobs.name",
    DURATION_PATTERN: 'is not a duration like "2h", "90m", "1h30m" or "3600s"',
    REF_PATTERN: "is not a reference ${Kind.name.attribute}",
}


def _type_phrase(types: Any) -> str:
    if isinstance(types, list):
        return " or ".join(_TYPES.get(t, str(t)) for t in types)
    return _TYPES.get(types, str(types))


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    while isinstance(schema, dict) and "$ref" in schema and schema["$ref"].startswith("#/$defs/"):
        schema = root["$defs"][schema["$ref"][len("#/$defs/") :]]
    return schema


_NUMERIC = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def _got(value: Any, hint: bool = False, expected: str = "") -> str:
    if isinstance(value, str) and "a string" not in expected and (
        (_NUMERIC.fullmatch(value.strip()) and ("integer" in expected or "number" in expected))
        or (value.strip() in ("true", "false") and "true or false" in expected)
    ):
        # seed: "1": the YAML quotes made it a string; say so rather than "got '1'"
        return f'got the string "{value}" (remove the quotes)'
    text = f"got {describe(value)}"
    if hint and isinstance(value, (int, float, bool)):
        text += f' (quote it: "{describe(value)}")'
    return text


def _translate(error: Any, root: dict[str, Any]) -> list[Problem]:
    path = tuple(error.absolute_path)
    v = error.validator
    inst = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    in_names = "propertyNames" in error.absolute_schema_path
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in inst:
            if key in schema.get("properties", {}):
                continue
            if not allowed:  # a map of free keys whose values have a type
                continue
            where = "unknown top-level field" if not path else "unknown field"
            out.append(Problem(path + (key,), path, f"{where} {key!r}{suggest(key, allowed)}"))
        return out
    if v == "required" and isinstance(inst, dict):
        missing = [k for k in schema.get("required", []) if k not in inst]
        return [Problem(path, path, f"missing required field {k!r}") for k in missing]
    if v in ("anyOf", "oneOf"):
        return _translate_choice(error, root)
    if in_names:
        key = inst
        if v == "maxLength":
            return [
                Problem(path, path, f"key {describe(key)} is longer than {error.validator_value} characters")
            ]
        return [Problem(path, path, f"key {describe(key)} is not allowed")]
    if v == "type":
        hint = len(path) >= 2 and path[-2] == "metadata"
        phrase = _type_phrase(error.validator_value)
        return [Problem(path, path, f"expected {phrase}, {_got(inst, hint, phrase)}")]
    if v == "enum":
        options = ", ".join("null" if o is None else str(o) for o in error.validator_value)
        return [Problem(path, path, f"must be one of {options}; {_got(inst)}")]
    if v == "const":
        return [Problem(path, path, f"must be {describe(error.validator_value)}, {_got(inst)}")]
    if v == "maxLength":
        return [Problem(path, path, f"longer than {error.validator_value} characters")]
    if v == "minLength":
        if error.validator_value == 1:
            return [Problem(path, path, "must not be empty")]
        return [Problem(path, path, f"shorter than {error.validator_value} characters")]
    if v == "minimum":
        return [Problem(path, path, f"must be at least {error.validator_value}, {_got(inst)}")]
    if v == "maximum":
        return [Problem(path, path, f"must be at most {error.validator_value}, {_got(inst)}")]
    if v == "exclusiveMinimum":
        return [Problem(path, path, f"must be greater than {error.validator_value}, {_got(inst)}")]
    if v == "exclusiveMaximum":
        return [Problem(path, path, f"must be less than {error.validator_value}, {_got(inst)}")]
    if v == "maxProperties":
        n = len(inst) if isinstance(inst, dict) else 0
        if path and path[-1] == "metadata":
            return [
                Problem(
                    path,
                    path,
                    f"has {n} pairs; at most {error.validator_value} are allowed "
                    f"(the API allows 16, reconciler keeps {16 - error.validator_value} to track jobs "
                    "and whose workspace and folder they are)",
                )
            ]
        return [Problem(path, path, f"has {n} entries; at most {error.validator_value} are allowed")]
    if v == "minItems":
        if error.validator_value == 1:
            return [Problem(path, path, "must not be empty")]
        return [Problem(path, path, f"needs at least {error.validator_value} items, has {len(inst)}")]
    if v == "maxItems":
        if error.validator_value == 1 and error.schema.get("minItems") == 1:
            return [Problem(path, path, f"must hold exactly one item, has {len(inst)}")]
        if error.validator_value == 2 and error.schema.get("minItems") == 2:
            return [Problem(path, path, f"must hold exactly two items, has {len(inst)}")]
        return [Problem(path, path, f"has {len(inst)} items; at most {error.validator_value} are allowed")]
    if v == "uniqueItems":
        seen: list[Any] = []
        dup = None
        for item in inst:
            if item in seen:
                dup = item
                break
            seen.append(item)
        return [Problem(path, path, f"lists {describe(dup)} more than once")]
    if v == "pattern":
        return [
            Problem(
                path, path, f"{describe(inst)} {_PATTERNS.get(error.validator_value, 'has the wrong form')}"
            )
        ]
    return [Problem(path, path, error.message)]


def _root_mismatch(sub: Any, base_len: int) -> bool:
    """A branch error that shows the value is not of that branch's shape at all."""
    rel = tuple(sub.absolute_path)[base_len:]
    if rel:
        return False
    if sub.validator in ("anyOf", "oneOf"):  # a nested choice none of whose branches fits
        groups: dict[int, list[Any]] = {}
        for e in sub.context:
            groups.setdefault(e.relative_schema_path[0], []).append(e)
        return bool(groups) and all(any(_root_mismatch(e, base_len) for e in g) for g in groups.values())
    return sub.validator in ("type", "const", "enum", "pattern")


def _translate_choice(error: Any, root: dict[str, Any]) -> list[Problem]:
    path = tuple(error.absolute_path)
    inst = error.instance
    branches = [_resolve(b, root) for b in error.validator_value]
    expected = error.schema.get("x-expected") if isinstance(error.schema, dict) else None

    # discriminated by `type` (graders, content items): pick the branch by its type
    consts = [b.get("properties", {}).get("type", {}).get("const") for b in branches if isinstance(b, dict)]
    if isinstance(inst, dict) and consts and all(consts) and len(consts) == len(branches):
        names = ", ".join(str(c) for c in consts)
        if "type" not in inst:
            return [Problem(path, path, f"missing required field 'type' (one of {names})")]
        if inst["type"] not in consts:
            return [
                Problem(path + ("type",), path + ("type",), f"must be one of {names}; {_got(inst['type'])}")
            ]
        index = consts.index(inst["type"])
        subs = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == index]
        return [p for e in subs for p in _translate(e, root)]

    by_branch: dict[int, list[Any]] = {}
    for sub in error.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    plausible = []
    for index, subs in by_branch.items():
        if any(_root_mismatch(s, len(path)) for s in subs):
            continue
        structural = sum(
            1
            for s in subs
            if len(tuple(s.absolute_path)) == len(path)
            and s.validator in ("required", "additionalProperties")
        )
        # Deeper errors mean the value fitted the branch's outer shape: prefer that branch.
        depth = max(len(tuple(s.absolute_path)) for s in subs)
        plausible.append((structural, -depth, len(subs), index, subs))
    plausible.sort(key=lambda t: t[:4])
    if plausible:
        best = plausible[0]
        tie = len(plausible) > 1 and plausible[1][0] == best[0] and best[0] > 0
        if not tie:
            return [p for e in best[4] for p in _translate(e, root)]
    if expected:
        return [Problem(path, path, f"expected {expected}, {_got(inst, expected=expected)}")]
    types = []
    for b in branches:
        if isinstance(b, dict) and "type" in b:
            types.append(_type_phrase(b["type"]))
        elif isinstance(b, dict) and "const" in b:
            types.append(describe(b["const"]))
    phrase = " or ".join(types) or "another value"
    return [Problem(path, path, f"expected {phrase}, {_got(inst, expected=phrase)}")]
