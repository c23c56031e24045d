"""What a saved plan file is bound to, and its seal (docs/PLAN_JSON.md, "Saved plans").

`plan --out` writes, beside the plan, a `binding`: the sha256 of every spec file (by its path in
the spec folder), a digest of the policies and budgets as loaded, the `--replace` addresses the
plan was made with, and the API identities the plan's reads met; then, as the file's last member,
`plan_digest`: the sha256 of every byte written before it. `apply PLANFILE` refuses a file whose
digest does not match (edited by hand, or damaged), and one whose binding the folder, the policies
or the API now answering disagree with, each in one line.

A digest is no defence against whoever can compute one again: the decisions are also made again
at apply and compared (reconciler/planner/promise.py). The binding names what moved on in words a
user can act on; the comparison is what holds."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import StalePlanError, StateError

if TYPE_CHECKING:
    from reconciler.config.documents import SpecSet
    from reconciler.state import State


__all__ = ["BINDING_KEY", "DIGEST_KEY", "check_binding", "check_identities", "check_seal", "make_binding",
           "sealed"]

BINDING_KEY = "binding"
DIGEST_KEY = "plan_digest"
_SEAL = re.compile(r',\n *"plan_digest": "sha256:([0-9a-f]{64})"\n\}\s*\Z')


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def spec_file_digests(folder: Path) -> dict[str, str]:
    """Every spec file under `folder` (the loader's own list) -> the sha256 of its bytes."""
    from reconciler.config.spec_files import spec_files

    if not folder.is_dir():
        return {}
    return {path.relative_to(folder).as_posix(): _sha256(path.read_bytes()) for path in spec_files(folder)}


def policies_digest(specs: SpecSet) -> str:
    """The policies and budgets as loaded (variables substituted), without where they were written."""
    policies = sorted(({"name": p.name, "match": list(p.match), "rule": p.rule.source, "message": p.message,
                        "enforcement": p.enforcement} for p in specs.policies), key=lambda p: str(p["name"]))
    budgets = specs.settings.budgets
    limits = {f.name: getattr(budgets, f.name) for f in dataclasses.fields(budgets) if f.name not in ("file", "line")}
    text = json.dumps({"policies": policies, "budgets": limits}, sort_keys=True, default=str)
    return _sha256(text.encode())


def _identities(state: State) -> dict[str, Any]:
    known = {"default": state.api.to_dict() if state.api is not None else None}
    known.update({name: identity.to_dict() for name, identity in sorted(state.provider_apis.items())})
    return known


def make_binding(folder: Path, specs: SpecSet, state: State, replace: tuple[str, ...]) -> dict[str, Any]:
    """What `plan --out` records of where the plan was made (after its reads: the identities are
    the ones the API reported)."""
    return {"specs": spec_file_digests(folder), "policies": policies_digest(specs), "replace": list(replace),
            "api": _identities(state), "journal": state.recovered_from_journal}


def sealed(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces of a JSON object, with `plan_digest` added as its last member: the sha256 of
    all the text before that member."""
    digest = hashlib.sha256()
    held: str | None = None
    for piece in pieces:
        if held is not None:
            digest.update(held.encode("utf-8"))
            yield held
        held = piece
    if held is None or not held.rstrip().endswith("}"):
        raise ValueError("not a JSON object")
    body = held.rstrip()[:-1].rstrip()  # the object's closing brace comes after the digest
    digest.update(body.encode("utf-8"))
    yield body + f',\n "{DIGEST_KEY}": "sha256:{digest.hexdigest()}"\n}}\n'


def check_seal(path: Path, text: str) -> None:
    """Refuse (one line) a plan file whose last member is not the digest of the text before it."""
    match = _SEAL.search(text)
    if match is None:
        raise StateError(f"{path}: this plan file carries no digest (made by an older reconciler, or edited): "
                         "make a new plan with `reconciler plan --out`")
    if hashlib.sha256(text[:match.start()].encode("utf-8")).hexdigest() != match.group(1):
        raise StateError(f"{path}: the plan file was changed after `reconciler plan` wrote it (its digest "
                         "does not match): make a new plan")


def check_binding(path: Path, binding: Any, folder: Path, specs: SpecSet, state: State) -> None:
    """Refuse (StalePlanError) a plan made before an interrupted run journalled actions the state
    file does not hold yet (the serial moves only when the state is written), or from other spec
    files or other policies than the folder here holds, naming the first file that differs."""
    if not isinstance(binding, dict):
        raise StalePlanError(f"{path}: the plan file does not say what it was made from: make a new plan")
    if binding.get("journal", 0) != state.recovered_from_journal:
        raise StalePlanError(f"{path} is stale: an interrupted run recorded {state.recovered_from_journal} "
                             "action(s) since the plan was made. Run `reconciler plan` again.")
    recorded = binding.get("specs")
    then: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    now = spec_file_digests(folder)
    for name in sorted(set(then) | set(now)):
        if then.get(name) != now.get(name):
            what = "is new" if name not in then else "is gone" if name not in now else "changed"
            raise StalePlanError(f"{path} is stale: {folder / name} {what} since the plan was made. "
                                 "Run `reconciler plan` again.")
    if binding.get("policies") != policies_digest(specs):
        raise StalePlanError(f"{path} is stale: the policies or budgets are not the ones the plan was made "
                             "with. Run `reconciler plan` again.")


def check_identities(path: Path, binding: Any, state: State) -> None:
    """Refuse a plan made against another API account than the one that answered the reads made
    again at apply (the state records no account until its first write: this binds a new one)."""
    from reconciler.identity import ApiIdentity, differences

    recorded = binding.get("api") if isinstance(binding, dict) else None
    if not isinstance(recorded, dict):
        return
    now = _identities(state)
    for name, then in sorted(recorded.items()):
        current = now.get(name)
        if not isinstance(then, dict) or current is None:
            continue
        try:
            planned, answering = ApiIdentity.from_dict(then), ApiIdentity.from_dict(current)
        except StateError:
            raise StalePlanError(f"{path}: the plan file's binding is damaged: make a new plan") from None
        differ = differences(planned, answering)
        if differ:
            profile = "" if name == "default" else f" (provider {name})"
            raise StalePlanError(f"{path} was made against {planned.describe()}{profile}, but the API answering "
                                 f"now is {answering.describe()}: nothing was changed. Make a new plan against "
                                 "this account.")
