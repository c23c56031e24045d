"""Addresses: `Kind.name`, `data.Kind.name`, and one instance of a `for_each` / `matrix` document,
`Kind.name["key"]` (Terraform's form). An instance key may hold dots (`lr=0.1,epochs=3`), so an
address is never split on "." — everything that takes one apart goes through `parse`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["KEY_CHARS", "KEY_MAX", "Address", "base_of", "expand_bases", "instance", "is_address", "kind_of", "parse"]

# Characters an instance key may not hold: they would end the key, the reference or the address.
KEY_CHARS = r'[^"\\\[\]{}$\x00-\x1f\x7f]'
KEY_MAX = 128
_KIND = r"(?:data\.)?[A-Za-z][A-Za-z0-9]*"
_NAME = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"
_ADDRESS = re.compile(rf'^(?P<kind>{_KIND})\.(?P<name>{_NAME})(?:\["(?P<key>{KEY_CHARS}{{1,{KEY_MAX}}})"\])?$')


@dataclass(frozen=True)
class Address:
    kind: str  # "FineTuningJob", "data.FineTuningJobCheckpoints"
    name: str  # the document's name, without the key
    key: str | None = None  # the instance key, or None for a document without for_each / matrix

    @property
    def base(self) -> str:
        """`Kind.name`: the document every instance comes from."""
        return f"{self.kind}.{self.name}"

    def __str__(self) -> str:
        return self.base if self.key is None else instance(self.base, self.key)


def parse(text: str) -> Address | None:
    """The parts of an address, or None when the text is not one."""
    m = _ADDRESS.match(text)
    return Address(m["kind"], m["name"], m["key"]) if m else None


def is_address(text: str) -> bool:
    return _ADDRESS.match(text) is not None


def instance(base: str, key: str) -> str:
    """`FineTuningJob.sweep` + `lr=0.1` → `FineTuningJob.sweep["lr=0.1"]`."""
    return f'{base}["{key}"]'


def base_of(address: str) -> str:
    """`Kind.name` of an address (itself when it names no instance)."""
    i = address.find('["')
    return address[:i] if i >= 0 and address.endswith('"]') else address


def kind_of(address: str) -> str:
    """`FineTuningJob` of `FineTuningJob.sweep["a.b"]`, `data.X` of `data.X.y` (the text before the
    name; for text that is no address, everything before the last dot of its base)."""
    parsed = parse(address)
    return parsed.kind if parsed else base_of(address).rpartition(".")[0]


def expand_bases(wanted: Iterable[str], known: Iterable[str]) -> list[str]:
    """Each wanted address as is, except a `Kind.name` that is not itself known but has instances
    among `known`: those instances instead (`--target FineTuningJob.sweep` selects them all)."""
    known = list(dict.fromkeys(known))
    present = set(known)
    out: list[str] = []
    for address in wanted:
        if address in present:
            out.append(address)
            continue
        instances = [a for a in known if a != address and base_of(a) == address]
        out.extend(instances or [address])
    return list(dict.fromkeys(out))
