"""Document-level `for_each:` (a list or a map) and `matrix:` (a map of lists → their cartesian
product): one document, several instances `Kind.name["key"]`, each with `${each.key}` and
`${each.value}` / `${each.value.FIELD}` substituted into its spec. Expansion happens here, in the
loader, so everything after it sees ordinary documents with instance addresses.

A list's item is its own key (`[a, b]` → `["a"]`, `["b"]`); a map's key is the key; a matrix row's
key spells each dimension in the matrix's order (`lr=0.1,epochs=3`), and its each.value is the
row as a map (`${each.value.lr}`)."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.addresses import KEY_CHARS, KEY_MAX
from reconciler.addresses import instance as instance_address
from reconciler.config.refs import _as_text as text

__all__ = ["DEFAULT_MAX_INSTANCES", "EACH_KEYS", "Instance", "expand_splats", "instances_of", "substitute_each"]

EACH_KEYS = ("for_each", "matrix")
# Most instances one for_each / matrix document may declare unless Settings.spec.limits raises it:
# a matrix is a product, and seven 10-value lists are ten million documents.
DEFAULT_MAX_INSTANCES = 1000
_KEY = re.compile(rf"^{KEY_CHARS}{{1,{KEY_MAX}}}$")
_DIMENSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TOKEN = re.compile(r"(\$?)\$\{([^{}]*)\}")
_EACH = re.compile(r"^\s*each\.(key|value)((?:\.[A-Za-z0-9_-]+)*)\s*$")
_EACH_ANY = re.compile(r"^\s*each(\.|$)")
_VAR = re.compile(r"^\$\{\s*var\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}$")
_REF = re.compile(r"^\$\{\s*((?:data\.)?[A-Za-z][A-Za-z0-9]*\.[A-Za-z_][A-Za-z0-9_-]*)[^{}]*\}$")

Problem = tuple[tuple[Any, ...], str]  # (path in the document, message)


@dataclass(frozen=True)
class Instance:
    key: str
    value: Any  # what ${each.value} is


def key_text(value: Any) -> str:
    """A scalar as a key: YAML's spelling (true, 0.1, 3)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def instances_of(document: Mapping[str, Any], variables: Mapping[str, Any],
                 most: int | Callable[[], int] = DEFAULT_MAX_INSTANCES) -> tuple[list[Instance] | None, list[Problem]]:
    """The instances a document declares (None: it has neither for_each nor matrix), or the
    problems, each with the path of the field at fault. More than `most` instances (a number, or
    what a function answers, asked only for a for_each / matrix document) is a problem, found
    before a single instance is built."""
    present = [k for k in EACH_KEYS if k in document]
    if not present:
        return None, []
    if len(present) == 2:
        return [], [(("matrix",), "a document has for_each or matrix, not both")]
    key = present[0]
    raw, problem = _value(document[key], variables, (key,))
    if problem:
        return [], [problem]
    if key == "matrix" and isinstance(raw, dict):  # a dimension may be a variable too
        dimensions = {}
        for name, values in raw.items():
            dimensions[name], problem = _value(values, variables, (key, name))
            if problem:
                return [], [problem]
        raw = dimensions
    ceiling = most if isinstance(most, int) else most()
    return _matrix(raw, ceiling) if key == "matrix" else _for_each(raw, ceiling)


def _too_many(count: str, most: int) -> str:
    return (f"{count} instances, more than the {most:,} one document may have; "
            "raise Settings.spec.limits.max_instances_per_document if you mean it")


def _value(value: Any, variables: Mapping[str, Any], path: tuple[Any, ...]) -> tuple[Any, Problem | None]:
    """A literal, or the variable `${var.NAME}` stands for; a reference to an object is refused."""
    if not isinstance(value, str) or "${" not in value:
        return value, None
    var = _VAR.match(value)
    if var:
        name = var.group(1)
        if name not in variables:
            return None, (path, f"undefined variable {name!r}: set it with RECONCILER_VAR_{name}=..., "
                                f"--var {name}=... or a --var-file")
        found = variables[name]
        if isinstance(found, str):  # from the environment or --var: read as YAML would
            import yaml

            try:
                found = yaml.safe_load(found)
            except yaml.YAMLError:
                pass
        return found, None
    ref = _REF.match(value)
    if ref and not ref.group(1).startswith(("each.", "var.")):
        return None, (path, f"the {path[0]} value depends on resource attributes that cannot be determined "
                            f"until apply ({value}); use a literal list or map, or a variable")
    return value, None


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return "null" if value is None else type(value).__name__


def _check_key(key: str, path: tuple[Any, ...], seen: dict[str, tuple[Any, ...]]) -> Problem | None:
    if not _KEY.match(key):
        return (path, f"invalid instance key {key!r}: a key holds 1 to {KEY_MAX} characters and no "
                      '" \\ [ ] { } $ or control characters')
    if key in seen:
        return (path, f"duplicate instance key {key!r}; keys must be unique")
    seen[key] = path
    return None


def _for_each(value: Any, most: int) -> tuple[list[Instance], list[Problem]]:
    out: list[Instance] = []
    problems: list[Problem] = []
    seen: dict[str, tuple[Any, ...]] = {}
    if isinstance(value, (list, dict)) and len(value) > most:
        return [], [(("for_each",), _too_many(f"{len(value):,}", most))]
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, (str, int, float)) or item is None:
                problems.append((("for_each", i), f"a for_each list holds strings or numbers, got {_describe(item)}; "
                                                  "for several fields per instance write a map (key: {field: value})"))
                continue
            key = key_text(item)
            problem = _check_key(key, ("for_each", i), seen)
            if problem:
                problems.append(problem)
            else:
                out.append(Instance(key, item))
    elif isinstance(value, dict):
        for k, item in value.items():
            key = key_text(k)
            problem = _check_key(key, ("for_each", k), seen)
            if problem:
                problems.append(problem)
            else:
                out.append(Instance(key, item))
    else:
        problems.append((("for_each",), f"for_each must be a list or a map, got {_describe(value)}"))
    return out, problems


def _matrix(value: Any, most: int) -> tuple[list[Instance], list[Problem]]:
    if not isinstance(value, dict) or not value:
        got = "an empty map" if isinstance(value, dict) else _describe(value)
        return [], [(("matrix",), f"matrix must be a map of lists (name: [values...]), got {got}")]
    problems: list[Problem] = []
    dimensions: list[tuple[str, list[Any]]] = []
    for name, values in value.items():
        path = ("matrix", name)
        if not isinstance(name, str) or not _DIMENSION.match(name):
            problems.append((path, f"matrix dimension {name!r} must be a name (letters, digits and _), "
                                   "so that ${each.value.NAME} can read it"))
            continue
        if not isinstance(values, list):
            problems.append((path, f"matrix.{name} must be a list, got {_describe(values)}"))
            continue
        if not values:
            problems.append((path, f"matrix.{name} is an empty list: the matrix would have no rows; "
                                   "give it a value or remove it"))
            continue
        seen: dict[str, tuple[Any, ...]] = {}
        for i, item in enumerate(values):
            if not isinstance(item, (str, int, float)) or item is None:
                problems.append(((*path, i), f"matrix.{name} holds strings or numbers, got {_describe(item)}"))
            else:
                problem = _check_key(key_text(item), (*path, i), seen)
                if problem:
                    problems.append(((*path, i), f"matrix.{name} lists {key_text(item)!r} twice"))
        dimensions.append((name, values))
    if problems:
        return [], problems
    rows = math.prod(len(values) for _, values in dimensions)
    if rows > most:
        sizes = " × ".join(str(len(values)) for _, values in dimensions)
        return [], [(("matrix",), _too_many(f"{sizes} = {rows:,}", most))]
    out: list[Instance] = []
    keys: dict[str, tuple[Any, ...]] = {}
    for row in itertools.product(*(values for _, values in dimensions)):
        key = ",".join(f"{name}={key_text(v)}" for (name, _), v in zip(dimensions, row, strict=True))
        problem = _check_key(key, ("matrix",), keys)
        if problem:
            return [], [problem]
        out.append(Instance(key, {name: v for (name, _), v in zip(dimensions, row, strict=True)}))
    return out, []


def _as_text(value: Any) -> str:
    return text(value)


def _escape(value: Any) -> Any:
    """A value put into a spec: a literal `${` in it stays literal."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def substitute_each(value: Any, instance: Instance, problem: Callable[[tuple[Any, ...], str], None],
                    path: tuple[Any, ...] = ()) -> Any:
    """A copy of `value` with `${each.key}`, `${each.value}`, `${each.value.FIELD}` replaced; a
    string that is exactly one takes the value's type. `problem(path, message)` for one that
    cannot be (a field the value lacks, `${each.other}`)."""
    if isinstance(value, dict):
        return {k: substitute_each(v, instance, problem, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_each(v, instance, problem, (*path, i)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "each" not in value or "${" not in value:
        return value
    whole = _TOKEN.fullmatch(value)
    if whole and not whole.group(1) and _EACH_ANY.match(whole.group(2)):
        found, ok = _lookup(whole.group(2), instance, path, problem)
        return _escape(found) if ok else value

    def replace(m: re.Match[str]) -> str:
        if m.group(1) or not _EACH_ANY.match(m.group(2)):
            return m.group(0)
        found, ok = _lookup(m.group(2), instance, path, problem)
        return _as_text(_escape(found)) if ok else m.group(0)

    return _TOKEN.sub(replace, value)


def _lookup(inner: str, instance: Instance, path: tuple[Any, ...],
            problem: Callable[[tuple[Any, ...], str], None]) -> tuple[Any, bool]:
    m = _EACH.match(inner)
    if not m:
        problem(path, f"${{{inner.strip()}}} is not ${{each.key}}, ${{each.value}} or ${{each.value.FIELD}}")
        return None, False
    if m.group(1) == "key":
        if m.group(2):
            problem(path, f"${{{inner.strip()}}}: each.key is text and has no fields")
            return None, False
        return instance.key, True
    found: Any = instance.value
    for part in (p for p in m.group(2).split(".") if p):
        if isinstance(found, Mapping) and part in found:
            found = found[part]
        else:
            fields = f"; it has {', '.join(map(str, found))}" if isinstance(found, Mapping) and found else ""
            problem(path, f"${{{inner.strip()}}}: each.value (for key {instance.key!r}) has no field {part!r}{fields}")
            return None, False
    return found, True


def expand_splats(value: Any, instances: Mapping[str, list[str]],
                  problem: Callable[[tuple[Any, ...], str], None], path: tuple[Any, ...] = ()) -> Any:
    """A copy of `value` where a string that is exactly `${Kind.name[*].attr}` becomes the list of
    `${Kind.name["key"].attr}`, one per instance in declaration order. `instances` maps each
    for_each / matrix document's `Kind.name` to its keys."""
    if isinstance(value, dict):
        return {k: expand_splats(v, instances, problem, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_splats(v, instances, problem, (*path, i)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "[*]" not in value:
        return value
    splats = [m for m in _TOKEN.finditer(value) if not m.group(1) and "[*]" in m.group(2)]
    if not splats:
        return value
    if len(splats) > 1 or splats[0].group(0) != value:
        problem(path, f"{splats[0].group(0)} stands for a list of every instance's value: give it as the "
                      "whole value of the field, not inside other text")
        return value
    inner = splats[0].group(2).strip()
    base, _, rest = inner.partition("[*]")
    if base not in instances:
        problem(path, f"{value}: {base} has no for_each or matrix; [*] reads every instance of one")
        return value
    return [f"${{{instance_address(base, key)}{rest}}}" for key in instances[base]]
