"""HCL expressions → spec values: literals as they are, references as ``${Kind.name.attr}``,
variables with a default inlined, literal locals inlined, string templates converted inside the
string. Everything else raises NotConvertible with the reason and the line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.convert.hcl import Expr, Literal, ObjectExpr, Template, Traversal, TupleExpr, Unsupported
from reconciler.convert.notes import WARNING, Note
from reconciler.convert.providers import PROVIDERS, reference_renames
from reconciler.kinds import registry

__all__ = [
    "DATA_KINDS",
    "RESOURCE_KINDS",
    "NotConvertible",
    "Scope",
    "Variable",
    "reference_address",
    "to_value",
]

# Terraform type -> spec kind (each kind names the Terraform types it converts from)
RESOURCE_KINDS: dict[str, str] = {t: k.name for k in registry.all_kinds() if not k.data for t in k.terraform_types}
DATA_KINDS: dict[str, str] = {t: k.name for k in registry.all_kinds() if k.data for t in k.terraform_types}
# ... and the other providers' names for the same types (providers.py)
for _table in PROVIDERS:
    RESOURCE_KINDS.update({t: RESOURCE_KINDS[c] for t, c in _table.resources.items()})
    DATA_KINDS.update({t: DATA_KINDS[c] for t, c in _table.data.items()})
# attribute renames when a reference crosses over (Terraform name -> spec name), per data type
_DATA_ATTR_RENAMES: dict[str, dict[str, str]] = {
    "openai_fine_tuning_checkpoint_permission": {"data": "items"},
}


class NotConvertible(Exception):
    def __init__(self, reason: str, line: int):
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class Variable:
    name: str
    default: Expr | None  # None: no default
    file: str
    line: int


@dataclass
class Scope:
    """What an expression may refer to, for one module (one folder of .tf files)."""

    file: str = ""
    variables: dict[str, Variable] = field(default_factory=dict)
    locals: dict[str, tuple[Expr, str]] = field(default_factory=dict)  # name -> (expr, file)
    # Terraform address ("openai_file.x", "data.openai_fine_tuning_jobs.y") -> converted or left out
    declared: dict[str, bool] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    used_vars: set[str] = field(default_factory=set)
    context: str = ""  # "resource openai_fine_tuning_job.x", for messages
    path_module: str | None = None  # what path.module becomes, when allowed (File paths only)
    _resolving: set[str] = field(default_factory=set)

    def warn(self, line: int, what: str, reason: str) -> None:
        self.notes.append(Note(self.file, line, what, reason, WARNING))


def reference_address(tr: Traversal) -> tuple[str, str, tuple[str | int, ...]] | None:
    """``openai_file.x.id`` → ("File.x", "openai_file.x", ("id",)); None when not a reference to
    a resource or data source this converter knows."""
    if tr.root == "data":
        if len(tr.steps) < 2 or not all(isinstance(s, str) for s in tr.steps[:2]):
            return None
        type_, name = str(tr.steps[0]), str(tr.steps[1])
        if type_ not in DATA_KINDS:
            return None
        rest = tr.steps[2:]
        renames = _DATA_ATTR_RENAMES.get(type_, {}) | reference_renames("data", type_)
        if rest and isinstance(rest[0], str) and rest[0] in renames:
            rest = (renames[rest[0]], *rest[1:])
        return f"{DATA_KINDS[type_]}.{name}", f"data.{type_}.{name}", rest
    if tr.root in RESOURCE_KINDS and tr.steps and isinstance(tr.steps[0], str):
        rest = tr.steps[1:]
        renames = reference_renames("resource", tr.root)
        if rest and isinstance(rest[0], str) and rest[0] in renames:
            rest = (renames[rest[0]], *rest[1:])
        if tr.root == "openai_finetune" and len(rest) > 1 and rest[0] == "fine_tune":
            rest = rest[1:]  # the legacy resource nests the job's attributes under fine_tune
        return f"{RESOURCE_KINDS[tr.root]}.{tr.steps[0]}", f"{tr.root}.{tr.steps[0]}", rest
    return None


def to_value(expr: Expr, scope: Scope) -> Any:
    """Convert one expression. Raises NotConvertible."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, TupleExpr):
        return [to_value(item, scope) for item in expr.items]
    if isinstance(expr, ObjectExpr):
        return {key: to_value(value, scope) for key, value, _ in expr.items}
    if isinstance(expr, Template):
        return _template(expr, scope)
    if isinstance(expr, Traversal):
        return _traversal(expr, scope)
    if isinstance(expr, Unsupported):
        raise NotConvertible(f"{expr.what} `{expr.source}` is not supported", expr.line)
    raise NotConvertible(f"unknown expression {expr!r}", 0)  # pragma: no cover


def _template(expr: Template, scope: Scope) -> Any:
    if len(expr.parts) == 1 and not isinstance(expr.parts[0], str):
        return to_value(expr.parts[0], scope)  # "${x}" keeps x's type, as in Terraform
    out: list[str] = []
    for part in expr.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = to_value(part, scope)
        if isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, (str, int, float)):
            out.append(str(value))
        elif value is None:
            raise NotConvertible("null inside a string template", expr.line)
        else:
            raise NotConvertible("a list or object inside a string template", expr.line)
    return "".join(out)


def _traversal(tr: Traversal, scope: Scope) -> Any:
    if tr.root == "var":
        return _variable(tr, scope)
    if tr.root == "local":
        return _local(tr, scope)
    if tr.root == "path" and tr.steps and tr.steps[0] in ("module", "root"):
        if scope.path_module is None or len(tr.steps) != 1:
            raise NotConvertible(f"`{tr.source}` is only supported in an openai_file's file path", tr.line)
        return scope.path_module
    if tr.root in ("count", "each", "self"):
        raise NotConvertible(f"`{tr.source}` ({tr.root}) is not supported", tr.line)
    if tr.root == "module":
        raise NotConvertible(f"module output `{tr.source}` is not supported (modules are not converted)", tr.line)
    ref = reference_address(tr)
    if ref is None:
        if tr.root == "data" or (tr.steps and "_" in tr.root):
            raise NotConvertible(f"reference `{tr.source}` to a type reconciler does not manage", tr.line)
        raise NotConvertible(f"`{tr.source}` is not a supported reference", tr.line)
    address, tf_address, rest = ref
    if not rest:
        raise NotConvertible(f"`{tr.source}` refers to a whole object; name an attribute (e.g. .id)", tr.line)
    text = "${" + ".".join([address, *(str(s) for s in rest)]) + "}"
    state = scope.declared.get(tf_address)
    if state is None:
        scope.warn(tr.line, f"{text} kept in {scope.context}",
                   f"{tf_address} is not declared in the converted files")
    elif state is False:
        scope.warn(tr.line, f"{text} kept in {scope.context}", f"{tf_address} was left out of the conversion")
    return text


def _variable(tr: Traversal, scope: Scope) -> Any:
    if not tr.steps or not isinstance(tr.steps[0], str):
        raise NotConvertible(f"`{tr.source}` is not a supported reference", tr.line)
    name = tr.steps[0]
    var = scope.variables.get(name)
    if var is None:
        raise NotConvertible(f"variable {name!r} is not declared", tr.line)
    scope.used_vars.add(name)
    if var.default is None:
        if len(tr.steps) > 1:
            raise NotConvertible(f"`{tr.source}`: attributes of a variable without a default", tr.line)
        return "${var." + name + "}"
    key = f"var.{name}"
    if key in scope._resolving:
        raise NotConvertible(f"variable {name!r} refers to itself", tr.line)
    scope._resolving.add(key)
    try:
        value = to_value(var.default, scope)
    except NotConvertible as exc:
        raise NotConvertible(f"default of variable {name!r} ({var.file}:{exc.line}) cannot be inlined: {exc.reason}",
                             tr.line) from None
    finally:
        scope._resolving.discard(key)
    return _index(value, tr.steps[1:], tr)


def _local(tr: Traversal, scope: Scope) -> Any:
    if not tr.steps or not isinstance(tr.steps[0], str):
        raise NotConvertible(f"`{tr.source}` is not a supported reference", tr.line)
    name = tr.steps[0]
    if name not in scope.locals:
        raise NotConvertible(f"local value {name!r} is not declared", tr.line)
    expr, file = scope.locals[name]
    key = f"local.{name}"
    if key in scope._resolving:
        raise NotConvertible(f"local value {name!r} refers to itself", tr.line)
    scope._resolving.add(key)
    try:
        value = to_value(expr, scope)
    except NotConvertible as exc:
        raise NotConvertible(f"local.{name} ({file}:{exc.line}) cannot be inlined: {exc.reason}", tr.line) from None
    finally:
        scope._resolving.discard(key)
    return _index(value, tr.steps[1:], tr)


def _index(value: Any, steps: tuple[str | int, ...], tr: Traversal) -> Any:
    for step in steps:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            raise NotConvertible(f"`{tr.source}`: no element {step!r}", tr.line) from None
    return value
