"""`.reconcilerignore`: accepted drift, each entry with a reason.

    # .reconcilerignore (YAML)
    - match: FineTuningJob.experiment_*     # address pattern (fnmatch wildcards); "!" negates
      attribute: status                     # optional: attribute pattern (default "*")
      category: paused_outside              # optional: finding category pattern (default "*")
      reason: experiments are paused by hand on purpose   # required

Rules are read in order and the last one that matches a finding decides, as in .gitignore: a
later `!pattern` un-ignores what an earlier rule ignored. Ignored findings stay in every report,
marked ignored, and never change the exit code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.bounded import MAX_SPEC_FILE_BYTES, RefusedFile, read_regular
from reconciler.errors import SpecError

__all__ = ["FILENAME", "IgnoreRule", "IgnoreRules", "dump_ignore_rules", "load_ignore_rules"]

FILENAME = ".reconcilerignore"
_KEYS = {"match", "attribute", "category", "reason"}


@dataclass(frozen=True)
class IgnoreRule:
    match: str
    reason: str
    attribute: str = "*"
    category: str = "*"
    file: str = ""
    line: int = 0

    @property
    def negated(self) -> bool:
        return self.match.startswith("!")

    def matches(self, address: str, attribute: str, category: str) -> bool:
        pattern = self.match[1:] if self.negated else self.match
        return (_glob(pattern).fullmatch(address) is not None
                and _glob(self.attribute).fullmatch(attribute or "") is not None
                and _glob(self.category).fullmatch(category) is not None)

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "rule"


@dataclass(frozen=True)
class IgnoreRules:
    rules: tuple[IgnoreRule, ...] = ()

    def decide(self, address: str, attribute: str, category: str) -> IgnoreRule | None:
        """The rule that ignores this finding, or None (not ignored, or un-ignored by a `!` rule)."""
        decision: IgnoreRule | None = None
        for rule in self.rules:
            if rule.matches(address, attribute, category):
                decision = None if rule.negated else rule
        return decision


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """`*` and `?` are wildcards; everything else is literal (so `grant[*]` means what it says)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def load_ignore_rules(path: Path) -> IgnoreRules:
    """Read an ignore file; every problem is a SpecError with the file and line."""
    import yaml

    if not path.exists():
        return IgnoreRules()
    name = str(path)
    try:
        text = read_regular(path, MAX_SPEC_FILE_BYTES).decode("utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(name, None, f"cannot read the ignore file: {exc}") from None
    except RefusedFile as exc:
        raise SpecError(name, None, f"the ignore file {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError(name, mark.line + 1 if mark else None,
                        f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if node is None:
        return IgnoreRules()
    if not isinstance(node, yaml.SequenceNode):
        raise SpecError(name, node.start_mark.line + 1, "must be a list of rules (- match: ..., reason: ...)")
    rules = []
    for item in node.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            raise SpecError(name, line, "each rule must be a mapping with match and reason")
        entry: dict[str, Any] = {}
        for key_node, value_node in item.value:
            key = key_node.value
            if key not in _KEYS:
                raise SpecError(name, key_node.start_mark.line + 1,
                                f"unknown key {key!r} (known: {', '.join(sorted(_KEYS))})")
            if not isinstance(value_node, yaml.ScalarNode) or not str(value_node.value).strip():
                raise SpecError(name, value_node.start_mark.line + 1, f"{key} must be a non-empty string")
            entry[key] = str(value_node.value)
        if "match" not in entry:
            raise SpecError(name, line, "rule has no match (an address pattern)")
        if "reason" not in entry:
            raise SpecError(name, line, f"rule for {entry['match']!r} has no reason: every ignore needs one")
        rules.append(IgnoreRule(match=entry["match"], reason=entry["reason"], attribute=entry.get("attribute", "*"),
                                category=entry.get("category", "*"), file=name, line=line))
    return IgnoreRules(tuple(rules))


def dump_ignore_rules(rules: Iterable[IgnoreRule], header: str = "") -> str:
    import json

    lines = [f"# {line}" for line in header.splitlines()] if header else []
    for rule in rules:
        lines.append(f"- match: {json.dumps(rule.match)}")
        if rule.attribute != "*":
            lines.append(f"  attribute: {json.dumps(rule.attribute)}")
        if rule.category != "*":
            lines.append(f"  category: {json.dumps(rule.category)}")
        lines.append(f"  reason: {json.dumps(rule.reason)}")
    return "\n".join(lines) + "\n"
