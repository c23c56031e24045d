"""References between documents: `${Kind.name.attr[.more]}`, `${data.Kind.name.attr}`, `${var.NAME}`.

A string that is exactly one reference takes the referenced value's type; a reference inside a
longer string is interpolated as text. `$${` writes a literal `${` (it is left as `$${` in
Document.spec and turned into `${` by `resolve`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.addresses import KEY_CHARS, KEY_MAX, kind_of
from reconciler.values import UNKNOWN, Unknown

__all__ = [
    "Ref",
    "RefSyntaxError",
    "find_refs",
    "is_reference",
    "iter_strings",
    "parse_ref",
    "resolve",
    "scan",
    "substitute_vars",
]

# `$${...}` (escaped) or `${...}`; group 1 is the escape, group 2 the inside
_TOKEN = re.compile(r"(\$?)\$\{([^{}]*)\}")
_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_KIND = r"(?:data\.)?[A-Za-z][A-Za-z0-9]*"
# an instance of a for_each / matrix document: ["key"]; every instance: [*] (expanded by the loader)
_INSTANCE = rf'(\["{KEY_CHARS}{{1,{KEY_MAX}}}"\]|\[\*\])?'
_REF_BODY = re.compile(rf"^({_KIND})\.({_IDENT}){_INSTANCE}((?:\.[A-Za-z0-9_-]+|\[\d+\])*)$")
_VAR_BODY = re.compile(rf"^var\.({_IDENT})$")
_EXACT = re.compile(r"^\$\{[^{}]*\}$")

@dataclass(frozen=True)
class Ref:
    address: str  # "FineTuningJob.support_bot", "data.FineTuningJobs.all", 'FineTuningJob.sweep["a"]',
    # 'FineTuningJob.sweep[*]' (only until the loader expands it) or "var.NAME"
    path: tuple[str, ...]  # attribute path: ("fine_tuned_model",), ("items", "0", "id"); () for var
    text: str  # the "${...}" as written

    @property
    def is_var(self) -> bool:
        return self.address.startswith("var.")

    @property
    def kind(self) -> str:
        return kind_of(self.address)

    @property
    def var_name(self) -> str:
        return self.address[len("var.") :] if self.is_var else ""


class RefSyntaxError(ValueError):
    """`${...}` whose inside is neither `Kind.name.attr` nor `var.NAME`."""


def parse_ref(text: str) -> Ref:
    """Parse one `${...}` token (with the braces)."""
    inner = text[2:-1].strip()
    var = _VAR_BODY.match(inner)
    if var:
        return Ref(f"var.{var.group(1)}", (), text)
    m = _REF_BODY.match(inner)
    if not m:
        raise RefSyntaxError(
            f"{text} is not a valid reference: write ${{Kind.name.attribute}} (e.g. ${{File.train.id}}) "
            f"or ${{var.NAME}}; use $${{ for a literal ${{"
        )
    kind, name, key, rest = m.groups()
    path = tuple(p for p in re.split(r"[.\[\]]+", rest) if p)
    return Ref(f"{kind}.{name}{key or ''}", path, text)


def scan(text: str) -> Iterator[tuple[str, Ref | RefSyntaxError]]:
    """Every unescaped `${...}` in a string, parsed (or the syntax error)."""
    for m in _TOKEN.finditer(text):
        if m.group(1):
            continue  # $${ escape
        token = m.group(0)
        try:
            yield token, parse_ref(token)
        except RefSyntaxError as exc:
            yield token, exc


def is_reference(value: Any) -> bool:
    """True for a string that is exactly one (unescaped) reference."""
    return isinstance(value, str) and bool(_EXACT.match(value))


def iter_strings(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from iter_strings(v, path + (k,))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from iter_strings(v, path + (i,))


def find_refs(value: Any) -> list[Ref]:
    """Every well-formed reference in a value (strings, dicts, lists), in order; var refs included."""
    found: list[Ref] = []
    for _, text in iter_strings(value):
        for _, ref in scan(text):
            if isinstance(ref, Ref):
                found.append(ref)
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _interpolate(text: str, lookup: Callable[[Ref], Any]) -> Any:
    if _EXACT.match(text):
        token_ref = parse_ref(text)
        return lookup(token_ref)
    unknown = False

    def replace(m: re.Match[str]) -> str:
        nonlocal unknown
        if m.group(1):
            return "${" + m.group(2) + "}"
        value = lookup(parse_ref(m.group(0)))
        if isinstance(value, Unknown):
            unknown = True
            return ""
        return _as_text(value)

    out = _TOKEN.sub(replace, text)
    return UNKNOWN if unknown else out


def resolve(value: Any, lookup: Callable[[Ref], Any]) -> Any:
    """A copy of `value` with every reference replaced by lookup(ref); lookup may return UNKNOWN, and
    a string leaf that contains an unknown reference becomes UNKNOWN."""
    if isinstance(value, str):
        return _interpolate(value, lookup) if "${" in value else value
    if isinstance(value, dict):
        return {k: resolve(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, lookup) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve(v, lookup) for v in value)
    return value


def substitute_vars(
    value: Any,
    variables: Mapping[str, Any],
    missing: Callable[[tuple[Any, ...], str], None],
    substituted: Callable[[tuple[Any, ...]], None] | None = None,
    path: tuple[Any, ...] = (),
) -> Any:
    """Replace `${var.NAME}`; document references and `$${` escapes are left as written.
    `missing(path, name)` is called for an undefined variable (its text is kept);
    `substituted(path)` for every leaf that was exactly one variable."""
    if isinstance(value, dict):
        return {k: substitute_vars(v, variables, missing, substituted, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_vars(v, variables, missing, substituted, path + (i,)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    if _EXACT.match(value):
        try:
            ref = parse_ref(value)
        except RefSyntaxError:
            return value
        if ref.is_var:
            if ref.var_name in variables:
                if substituted:
                    substituted(path)
                found = variables[ref.var_name]
                return found.replace("${", "$${") if isinstance(found, str) else found
            missing(path, ref.var_name)
        return value

    def replace(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(0)
        try:
            ref = parse_ref(m.group(0))
        except RefSyntaxError:
            return m.group(0)
        if not ref.is_var:
            return m.group(0)
        if ref.var_name not in variables:
            missing(path, ref.var_name)
            return m.group(0)
        return _as_text(variables[ref.var_name]).replace("${", "$${")

    return _TOKEN.sub(replace, value)
