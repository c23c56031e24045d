"""The state's types and its JSON form.

    {"format_version": 1, "lineage": "uuid4", "serial": 7, "reconciler_version": "0.1.0",
     "resources": {"FineTuningJob.support_bot": {"kind": ..., "id": ..., "inputs": {...},
                   "digest": "...", "attributes": {...}, "depends_on": [...], "meta": {...}}},
     "api": {"base_url": "https://api.openai.com/v1", "organization": "org-…", "project": "proj_…"}}

"api" (optional; states written before it load fine) is the API account the state belongs to
(`reconciler.identity`). "folder" (optional likewise) is the spec folder the state was last
applied from, as `reconciler.resources.ownership.folder_identity` names it.

Parsing is strict: anything that is not this shape is a `StateError` naming what is wrong, so a
damaged file is never mistaken for an empty state.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler import __version__
from reconciler.errors import StateError
from reconciler.identity import PROFILES_KEY, ApiIdentity, profiles_from_dict, profiles_to_dict
from reconciler.sharing import Canonical, dedupe_hook

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(text: str) -> str:
    """JSON written with `ensure_ascii=False`, its lone surrogates as JSON escapes: UTF-8 cannot
    encode one (an API's `"\\ud800"` decodes to one), and the escape reads back as the same value."""
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


__all__ = ["FORMAT_VERSION", "NonFiniteNumber", "Owner", "ResourceState", "State", "new_state", "strict_numbers"]

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a run acts as: the workspace's name and the spec folder's identity. Every job it
    creates carries both (reconciler/resources/ownership.py); a state records the folder."""

    workspace: str
    folder: str


@dataclass(slots=True)
class ResourceState:
    """One managed object as last recorded: what was sent (inputs), what was read (attributes)."""

    address: str
    kind: str
    id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # extras: pending reasons, created_by_run, ...

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "id": self.id,
            "inputs": self.inputs,
            "digest": self.digest,
            "attributes": self.attributes,
            "depends_on": list(self.depends_on),
        }
        if self.meta:
            data["meta"] = self.meta
        return data

    @classmethod
    def from_dict(cls, address: str, data: Any, *, where: str = "state") -> ResourceState:
        """Build from the JSON form; `where` names the source in error messages."""
        prefix = f"{where}: resource {address!r}"
        if not isinstance(data, dict):
            raise StateError(f"{prefix} is not an object")
        kind = data.get("kind")
        if not isinstance(kind, str) or not kind:
            raise StateError(f"{prefix} has no kind")
        rid = data.get("id")
        if rid is not None and not isinstance(rid, str):
            raise StateError(f"{prefix}: id must be a string or null")
        digest = data.get("digest", "")
        if not isinstance(digest, str):
            raise StateError(f"{prefix}: digest must be a string")
        parts: dict[str, dict[str, Any]] = {}
        for name in ("inputs", "attributes", "meta"):
            value = data.get(name, {})
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise StateError(f"{prefix}: {name} must be an object")
            parts[name] = value
        depends_on = data.get("depends_on", [])
        if depends_on is None:
            depends_on = []
        if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
            raise StateError(f"{prefix}: depends_on must be a list of addresses")
        return cls(address=address, kind=kind, id=rid, inputs=parts["inputs"], digest=digest,
                   attributes=parts["attributes"], depends_on=list(depends_on), meta=parts["meta"])


@dataclass
class State:
    """The whole state. `serial` counts writes; `lineage` identifies this state's history."""

    format_version: int
    lineage: str
    serial: int
    reconciler_version: str
    resources: dict[str, ResourceState] = field(default_factory=dict)
    # The API account this state belongs to; None until the first write after an API answer.
    api: ApiIdentity | None = None
    # The accounts of the other provider profiles, by profile name; the default's is `api`.
    provider_apis: dict[str, ApiIdentity] = field(default_factory=dict)
    # The spec folder this state was last applied from (`ownership.folder_identity`); None until then.
    folder: str | None = None
    # Not persisted: how many journal entries `StateStore.load()` replayed into this state.
    recovered_from_journal: int = field(default=0, compare=False)
    # Not persisted: the workspace and folder this run acts as, set by the CLI; marks what it creates.
    owner: Owner | None = field(default=None, compare=False)

    # -- convenience -----------------------------------------------------------------------
    def get(self, address: str) -> ResourceState | None:
        return self.resources.get(address)

    def set(self, resource: ResourceState) -> None:
        self.resources[resource.address] = resource

    def remove(self, address: str) -> ResourceState | None:
        return self.resources.pop(address, None)

    def addresses(self) -> list[str]:
        return sorted(self.resources)

    def __iter__(self) -> Iterator[ResourceState]:
        return iter(self.resources[a] for a in sorted(self.resources))

    def __len__(self) -> int:
        return len(self.resources)

    def copy(self) -> State:
        return copy.deepcopy(self)

    # -- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format_version": self.format_version,
            "lineage": self.lineage,
            "serial": self.serial,
            "reconciler_version": self.reconciler_version,
            "resources": {a: r.to_dict() for a, r in self.resources.items()},
        }
        if self.api is not None:
            data["api"] = self.api.to_dict()
        if self.provider_apis:
            data[PROFILES_KEY] = profiles_to_dict(self.provider_apis)
        if self.folder is not None:
            data["folder"] = self.folder
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        """Compact (or indented) JSON with sorted keys, so diffs of the file are stable."""
        separators = (",", ":") if indent is None else (",", ": ")
        return json_text(json.dumps(self.to_dict(), sort_keys=True, indent=indent, separators=separators,
                                    ensure_ascii=False, allow_nan=False))

    def iter_json(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The bytes of `to_json()`, produced one resource at a time in chunks of about
        `chunk_size`: writing 10,000 resources never holds the whole document in memory."""
        encode = functools.partial(json.dumps, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                   allow_nan=False)

        def dump(value: Any) -> str:
            return json_text(encode(value))

        head: dict[str, Any] = {"format_version": self.format_version, "lineage": self.lineage,
                                "reconciler_version": self.reconciler_version}
        if self.api is not None:  # "api" sorts first
            head["api"] = self.api.to_dict()
        if self.provider_apis:  # sorts before "reconciler_version" and "resources"
            head[PROFILES_KEY] = profiles_to_dict(self.provider_apis)
        if self.folder is not None:  # sorts before "format_version"
            head["folder"] = self.folder
        buffer = [dump(head)[:-1] + ',"resources":{']
        size = len(buffer[0])
        for i, address in enumerate(sorted(self.resources)):
            part = ("," if i else "") + dump(address) + ":" + dump(self.resources[address].to_dict())
            buffer.append(part)
            size += len(part)
            if size >= chunk_size:
                yield "".join(buffer).encode("utf-8")
                buffer, size = [], 0
        buffer.append("}," + dump("serial") + ":" + dump(self.serial) + "}")
        yield "".join(buffer).encode("utf-8")

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "state") -> State:
        if not isinstance(data, dict):
            raise StateError(f"{where}: not a state file (expected a JSON object at the top level)")
        version = data.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise StateError(f"{where}: not a state file (no integer format_version)")
        if version > FORMAT_VERSION:
            raise StateError(
                f"{where}: state format_version {version} is newer than this reconciler supports "
                f"({FORMAT_VERSION}); it was written by reconciler "
                f"{_one_line(data.get('reconciler_version', 'of a newer version'))}: upgrade reconciler")
        if version < 1:
            raise StateError(f"{where}: invalid format_version {version}")
        lineage = data.get("lineage")
        if not isinstance(lineage, str) or not lineage:
            raise StateError(f"{where}: lineage is missing or not a string")
        serial = data.get("serial")
        if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
            raise StateError(f"{where}: serial is missing or not a non-negative integer")
        rversion = data.get("reconciler_version", "")
        if not isinstance(rversion, str):
            raise StateError(f"{where}: reconciler_version must be a string")
        raw = data.get("resources", {})
        if not isinstance(raw, dict):
            raise StateError(f"{where}: resources must be an object of address to resource")
        resources = {str(a): ResourceState.from_dict(str(a), r, where=where) for a, r in raw.items()}
        _share_common_blocks(resources.values())
        api = data.get("api")
        folder = data.get("folder")
        if folder is not None and (not isinstance(folder, str) or not folder):
            raise StateError(f"{where}: folder must be a non-empty string")
        return cls(format_version=version, lineage=lineage, serial=serial, reconciler_version=rversion,
                   resources=resources, api=None if api is None else ApiIdentity.from_dict(api, where=where),
                   provider_apis=profiles_from_dict(data.get(PROFILES_KEY), where=where), folder=folder)

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "state") -> State:
        """Parse; any problem is a one-line `StateError` starting with `where`."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise StateError(f"{where}: not valid UTF-8 (byte {exc.start})") from None
        if not text.strip():
            raise StateError(f"{where}: the file is empty (truncated?)")
        try:
            # jobs repeat a handful of strings (model, organization, file, status): one object each
            # (BENCHMARKS.md, memory).
            data = json.loads(text, object_hook=dedupe_hook(), **strict_numbers())
        except NonFiniteNumber as exc:
            raise StateError(f"{where}: {exc}; not loaded (fix that value, or restore the "
                             f"file's .backup)") from None
        except json.JSONDecodeError as exc:
            ends_early = not text.rstrip().endswith("}")
            hint = " (the file ends early: truncated?)" if ends_early else ""
            raise StateError(f"{where}: not valid JSON at line {exc.lineno} column {exc.colno}: "
                             f"{exc.msg}{hint}") from None
        except RecursionError:
            raise StateError(f"{where}: not valid JSON (nested too deeply)") from None
        except ValueError as exc:  # NaN / Infinity: not JSON, and could not be written back
            raise StateError(f"{where}: not valid JSON: {exc}") from None
        return cls.from_dict(data, where=where)


def _one_line(value: Any) -> str:
    """A value from the file shown inside a one-line error: a plain version as written, anything
    else (a line break, a control character, a non-string, a very long text) quoted and shortened."""
    if isinstance(value, str) and value.isprintable() and len(value) <= 40:
        return value
    shown = repr(value)  # escapes line breaks and control characters, in strings inside lists too
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _share_common_blocks(resources: Iterable[ResourceState]) -> None:
    """Jobs trained the same way hold one `method` block and one settings block between them
    (state values are replaced, never edited in place, so sharing equal ones is invisible)."""
    canonical = Canonical()
    for resource in resources:
        if type(resource.inputs.get("method")) is dict:
            resource.inputs["method"] = canonical(resource.inputs["method"])
        if type(resource.meta.get("settings")) is dict:
            resource.meta["settings"] = canonical(resource.meta["settings"])


class NonFiniteNumber(ValueError):
    """NaN, Infinity, or a number too large for a float (1e999): JSON that loads as a float
    which can never be written back (the state is written with allow_nan=False)."""


def _reject_constant(name: str) -> Any:
    raise NonFiniteNumber(f"{name} is not allowed (not a finite number)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise NonFiniteNumber(f"the number {shown} is too large to be stored")
    return value


def strict_numbers() -> dict[str, Any]:
    """`json.loads` keyword arguments that refuse NaN, Infinity and numbers that overflow to
    infinity (`1e999`) with `NonFiniteNumber` (a ValueError)."""
    return {"parse_constant": _reject_constant, "parse_float": _finite_float}


def new_state(lineage: str | None = None) -> State:
    """An empty state with a fresh uuid4 lineage and serial 0 (not yet written anywhere)."""
    return State(format_version=FORMAT_VERSION, lineage=lineage or str(uuid.uuid4()), serial=0,
                 reconciler_version=__version__, resources={})


def parse_resource_entry(data: Mapping[str, Any], where: str) -> tuple[str, ResourceState | None]:
    """Helper for the journal: an entry's (address, resource or None)."""
    address = data.get("address")
    if not isinstance(address, str) or not address:
        raise StateError(f"{where}: journal entry without an address")
    raw = data.get("resource")
    if raw is None:
        return address, None
    return address, ResourceState.from_dict(address, raw, where=where)
