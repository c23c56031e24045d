"""Reading and checking the `kind: Settings` document (the value it gives: config/settings.py):
its JSON Schema, one section per property, and `find_settings`, which reads it without loading the
other documents."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.bounded import MAX_SPEC_FILE_BYTES, RefusedFile, read_regular
from reconciler.config import schema as schemas
from reconciler.config.budgets import budgets_from_spec, budgets_schema
from reconciler.config.documents import display_path
from reconciler.config.positions import line_finder
from reconciler.config.settings import (
    BACKEND_TYPES,
    DEFAULT_MAX_INSTANCES,
    DEFAULT_PG_SCHEMA,
    SCHEMA_NAME_PATTERN,
    SETTINGS_KIND,
    SETTINGS_NAME,
    BackendSettings,
    Limits,
    Settings,
)
from reconciler.config.spec_files import spec_files
from reconciler.config.upload_settings import upload_settings_from_spec, uploads_schema
from reconciler.errors import SpecError, SpecErrors
from reconciler.lifecycle.data import (
    DATE_PATTERN,
    DEFAULT_WARN_DAYS,
    FIELDS,
    PLATFORMS,
    LifecycleSettings,
    parse_day,
)

__all__ = [
    "check_settings_document",
    "declared_limits",
    "find_settings",
    "settings_from_spec",
    "settings_spec_schema",
]


def _pricing() -> Any:
    """The pricing module (its tables and token counting are loaded only when a Settings document
    is checked)."""
    from reconciler.cost import pricing  # lazy: start-up

    return pricing


def _hosting_schema() -> Any:
    from reconciler.cost.hosting import hosting_prices_schema  # lazy: start-up

    return hosting_prices_schema()


def settings_spec_schema() -> dict[str, Any]:
    """The JSON Schema of `spec`: one object, one property per section."""
    backend = {
        "type": "object",
        "description": "Where the state, its history, journal, lock and drift memory live.",
        "properties": {
            "type": {
                "enum": list(BACKEND_TYPES),
                "description": "local: files under state/ (default); pg: PostgreSQL, connection "
                "from RECONCILER_PG_CONN_STR or the PG* environment variables.",
            },
            "schema": {
                "type": "string",
                "pattern": SCHEMA_NAME_PATTERN,
                "default": DEFAULT_PG_SCHEMA,
                "description": "pg: the PostgreSQL schema of reconciler's tables (created when missing).",
            },
        },
        "required": ["type"],
        "additionalProperties": False,
    }
    limits = {
        "type": "object",
        "description": "Bounds on what the spec language may expand to, checked before expanding.",
        "properties": {
            "max_instances_per_document": {
                "type": "integer", "minimum": 1, "default": DEFAULT_MAX_INSTANCES,
                "description": "Most instances one for_each / matrix document may declare (a matrix: "
                               "the product of its lists' lengths).",
            },
        },
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "How this spec folder is run (not a resource: never in plans or state).",
        "properties": {"backend": backend, "pricing": _pricing().pricing_schema(), "budgets": budgets_schema(),
                       "hosting_prices": _hosting_schema(),
                       "limits": limits,
                       "lifecycle": lifecycle_schema(), "uploads": uploads_schema()},
        "additionalProperties": False,
    }


def lifecycle_schema() -> dict[str, Any]:
    """`lifecycle`: warn_days, and end dates that replace the shipped ones (docs/LIFECYCLE.md)."""
    day = {"type": "string", "pattern": DATE_PATTERN, "description": "A UTC day, YYYY-MM-DD (quote it in YAML)."}
    model = {"type": "object", "properties": {f: day for f in FIELDS}, "additionalProperties": False,
             "description": "training_ends: no new job on this base from that day; serving_ends: its "
                            "fine-tuned models stop answering from that day."}
    platform = {
        "type": "object",
        "properties": {
            "job_creation_ends": {**day, "description": "No new fine-tuning job on this platform from that day."},
            "models": {"type": "object", "additionalProperties": model,
                       "description": "Per dated base-model snapshot (gpt-4o-mini-2024-07-18)."},
        },
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "The platforms' end dates: when a model's end is a health finding, and overrides of the "
                       "shipped, sourced dates (reconciler/lifecycle/end_dates.json). The API's own "
                       "shutdown_date wins when it gives one.",
        "properties": {
            "warn_days": {"type": "integer", "minimum": 0, "default": DEFAULT_WARN_DAYS,
                          "description": "A managed fine-tuned model that stops answering within this many days "
                                         "is a health finding (drift --fail-on health)."},
            "end_dates": {"type": "object", "properties": {p: platform for p in PLATFORMS},
                          "additionalProperties": False},
        },
        "additionalProperties": False,
    }


def settings_document_schema() -> dict[str, Any]:
    """The whole document: kind, name (always "default") and spec; nothing else beside them."""
    return {
        "type": "object",
        "description": "The Settings document: backend (and later pricing, budgets) of this spec folder.",
        "properties": {
            "kind": {"const": SETTINGS_KIND},
            "name": {"const": SETTINGS_NAME, "description": "Always default: one Settings per spec folder."},
            "spec": settings_spec_schema(),
        },
        "required": ["kind", "name", "spec"],
        "additionalProperties": False,
    }


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(settings_document_schema())


def _problems(doc: dict[str, Any]) -> list[Any]:
    root = settings_document_schema()
    out: list[Any] = []
    for error in _validator().iter_errors(doc):
        out.extend(schemas._translate(error, root))
    return out


def settings_from_spec(spec: dict[str, Any], file: str, line: int, positions: dict[str, int]) -> Settings:
    """A validated `spec` as Settings."""
    raw = spec.get("backend") or {}
    backend = BackendSettings(type=str(raw.get("type", "local")), schema=str(raw.get("schema", DEFAULT_PG_SCHEMA)))
    pricing = tuple(dict(p) for p in spec.get("pricing") or ())
    budgets = budgets_from_spec(spec.get("budgets"), file, positions.get("spec.budgets", line))
    most = (spec.get("limits") or {}).get("max_instances_per_document", DEFAULT_MAX_INSTANCES)
    raw_lifecycle = spec.get("lifecycle") or {}
    lifecycle = LifecycleSettings(warn_days=int(raw_lifecycle.get("warn_days", DEFAULT_WARN_DAYS)),
                                  end_dates=dict(raw_lifecycle.get("end_dates") or {}),
                                  where=f"{file}:{positions.get('spec.lifecycle', line)}")
    return Settings(backend=backend, pricing=pricing, budgets=budgets, limits=Limits(int(most)), lifecycle=lifecycle,
                    uploads=upload_settings_from_spec(spec.get("uploads")),
                    hosting_prices=tuple(dict(p) for p in spec.get("hosting_prices") or ()), file=file, line=line,
                    positions=dict(positions))


_SETTINGS_LINE = re.compile(rb"kind[\"']?\s*:\s*[\"']?Settings\b")  # a cheap filter; the parse decides


def check_settings_document(
    doc: dict[str, Any], file: str, line: int, positions: dict[str, int]
) -> tuple[Settings | None, list[SpecError]]:
    """Validate one `kind: Settings` document (as parsed, with its key positions): Settings, or the
    errors (file:line, field, what is wrong, did-you-mean for unknown keys)."""
    line_of = line_finder(positions, line)

    name = doc.get("name")
    address = f"{SETTINGS_KIND}.{name}" if isinstance(name, str) else None
    errors = [
        SpecError(file, line_of(p.path), p.message, address, display_path(p.field) or None)
        for p in _problems(doc)
    ]
    if errors:
        return None, errors
    spec = doc.get("spec") or {}
    try:  # what the schema cannot say: one price unit, the one the method is billed in
        _pricing().parse_overrides(spec.get("pricing"))
    except ValueError as exc:
        where, _, message = str(exc).partition(": ")
        index = where.split("[", 1)[1].split("]", 1)[0] if "[" in where else ""
        return None, [SpecError(file, line_of(("spec", "pricing", int(index)) if index.isdigit() else ("spec",)),
                                message, address, where)]
    bad = _bad_day(spec.get("lifecycle") or {})
    if bad is not None:
        path, text = bad
        return None, [SpecError(file, line_of(path), f"{text!r} is not a calendar day (YYYY-MM-DD)", address,
                                display_path(path))]
    return settings_from_spec(spec, file, line, positions), []


def _bad_day(lifecycle: dict[str, Any]) -> tuple[tuple[Any, ...], str] | None:
    """The first end date of `lifecycle.end_dates` that matches YYYY-MM-DD but is no day (2027-02-30)."""
    for platform, raw in (lifecycle.get("end_dates") or {}).items():
        found: list[tuple[tuple[Any, ...], Any]] = [(("job_creation_ends",), raw.get("job_creation_ends"))]
        found += [(("models", model, f), dates.get(f)) for model, dates in (raw.get("models") or {}).items()
                  for f in FIELDS]
        for path, text in found:
            if isinstance(text, str):
                try:
                    parse_day(text)
                except ValueError:
                    return ("spec", "lifecycle", "end_dates", platform, *path), text
    return None


def find_settings(spec_dir: Path) -> Settings:
    """The Settings document of a spec folder, read without loading the other documents (commands
    such as `state list` choose the backend before, or without, reading the specs). Raises
    SpecErrors when it is invalid or given twice; all defaults when there is none."""
    from reconciler.config.yamlpos import load_file  # lazy: start-up (the YAML parser)

    found: list[Settings] = []
    errors: list[SpecError] = []
    root = spec_dir.resolve()
    for path in spec_files(spec_dir) if spec_dir.is_dir() else []:
        try:  # a link out of the folder, a device or a FIFO is never read here (the full load refuses it)
            if not path.resolve(strict=True).is_relative_to(root):
                continue
            if not _SETTINGS_LINE.search(read_regular(path, MAX_SPEC_FILE_BYTES)):
                continue
        except (OSError, RuntimeError, RefusedFile):
            continue
        raws, _parse_errors = load_file(path, str(path))  # the full load reports those
        for raw in raws:
            if not isinstance(raw.value, dict) or raw.value.get("kind") != SETTINGS_KIND:
                continue
            settings, problems = check_settings_document(raw.value, str(path), raw.line, raw.positions)
            errors.extend(problems)
            if settings is not None:
                if found:
                    errors.append(twice(found[0], str(path), raw.line))
                found.append(settings)
    if errors:
        raise SpecErrors(errors)
    return found[0] if found else Settings()


def declared_limits(spec_dir: Path) -> Limits:
    """The limits of a spec folder's Settings document, read before the documents that they bound
    are expanded; the defaults when there is none or it is invalid (the full load reports that)."""
    try:
        return find_settings(spec_dir).limits
    except SpecErrors:
        return Limits()


def twice(first: Settings, file: str, line: int) -> SpecError:
    return SpecError(file, line, f"declared twice (first at {first.file}:{first.line}); a spec folder "
                     f"holds at most one Settings document", f"{SETTINGS_KIND}.{SETTINGS_NAME}")
