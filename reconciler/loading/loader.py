"""load_specs: every *.yaml / *.yml under a folder → a validated SpecSet, or SpecErrors with all
problems found at once (file, line, address, field path, message)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.addresses import base_of, is_address
from reconciler.addresses import instance as instance_address
from reconciler.addresses import kind_of as kind_of_address
from reconciler.addresses import parse as parse_address
from reconciler.config import providers as provider_docs
from reconciler.config import schema as schemas
from reconciler.config.cache import CacheOutcome, cached_collect
from reconciler.config.documents import (
    Document,
    ImportBlock,
    Lifecycle,
    MovedBlock,
    Positions,
    SpecSet,
    display_path,
)
from reconciler.config.graph import topological_order
from reconciler.config.instances import EACH_KEYS, Instance, expand_splats, instances_of, substitute_each
from reconciler.config.refs import Ref, RefSyntaxError, iter_strings, scan, substitute_vars
from reconciler.config.schema_parts import NAME_PATTERN
from reconciler.config.settings import SETTINGS_KIND, Settings
from reconciler.config.spec_files import spec_files
from reconciler.loading.schema_source import KINDS, spec_def_name
from reconciler.loading.settings import check_settings_document, declared_limits, twice

if TYPE_CHECKING:
    from reconciler.config.yamlpos import RawDocument
from reconciler.config.nullable import nullable_warnings
from reconciler.config.policies import POLICY_KIND, check_policy_document
from reconciler.config.positions import line_finder
from reconciler.errors import SpecError, SpecErrors
from reconciler.expr.conditions import compile_conditions
from reconciler.kinds import registry
from reconciler.kinds.evaluation.document import check_evaluation_document
from reconciler.kinds.evaluation.schema import EVALUATION_KIND

__all__ = ["Collected", "collect_specs", "load_specs"]

# Every kind a document may have: the registry's, then the documents of the spec language itself.
EVERY_KIND = (*KINDS, SETTINGS_KIND, POLICY_KIND, provider_docs.PROVIDER_KIND, EVALUATION_KIND)
_TOP = ("kind", "name", "spec", "lifecycle", "depends_on")


@dataclass
class Collected:
    """Everything one pass found: the valid part of the spec set plus every error and warning."""

    specset: SpecSet
    errors: list[SpecError] = field(default_factory=list)
    warnings: list[SpecError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    invalid: list[Document] = field(default_factory=list)  # documents with errors (spec as written)

    def specset_or_raise(self) -> SpecSet:
        """The spec set, or SpecErrors (with `.warnings`) when anything was wrong."""
        if self.errors:
            exc = SpecErrors(self.errors)
            exc.warnings = tuple(self.warnings)  # type: ignore[attr-defined]
            raise exc
        return self.specset



@functools.lru_cache(maxsize=256)
def _lifecycle(prevent_destroy: bool, ignore_changes: tuple[str, ...], create_before_destroy: bool,
               preconditions: tuple[Any, ...] = (), postconditions: tuple[Any, ...] = (),
               delete_model_on_destroy: bool = False) -> Lifecycle:
    """Lifecycles are frozen values; documents with the same one share it."""
    return Lifecycle(prevent_destroy, ignore_changes, create_before_destroy, preconditions, postconditions,
                     delete_model_on_destroy)

def load_specs(spec_dir: Path, variables: Mapping[str, Any]) -> SpecSet:
    """Load and validate every spec file; raise SpecErrors (with `.warnings`) on any error."""
    return collect_specs(spec_dir, variables).specset_or_raise()


def collect_specs(spec_dir: Path, variables: Mapping[str, Any], cache_dir: Path | None = None,
                  outcome: CacheOutcome | None = None) -> Collected:
    """Like load_specs, but returns the documents that are valid together with all problems.

    With `cache_dir`, a clean load of unchanged files is read back from there (config/cache.py);
    `outcome.status` then says what the cache did."""
    spec_dir = Path(spec_dir)
    if not spec_dir.is_dir():
        what = "is not a folder" if spec_dir.exists() else "no such folder"
        return Collected(
            SpecSet({}), [SpecError(str(spec_dir), None, f"{what} (give the spec folder with -C DIR)")]
        )
    if cache_dir is None:
        return _Pass(spec_dir, variables).run()
    files = spec_files(spec_dir)
    collected: Collected = cached_collect(spec_dir, variables, Path(cache_dir), files,
                                          lambda: _Pass(spec_dir, variables).run(files),
                                          lambda found: _paths_still_ok(spec_dir, variables, found), outcome)
    return collected


def _paths_still_ok(spec_dir: Path, variables: Mapping[str, Any], collected: Collected) -> bool:
    """The loader's checks of every File's path and every Evaluation's recording folder, again (the
    file or folder may be gone since it was cached)."""
    checker = _Pass(spec_dir, variables)
    for doc in collected.specset.documents.values():
        if registry.get(doc.kind).local_file and checker.check_path(
                doc.spec, doc.base_dir, doc.file, lambda _path, line=doc.line: line, doc.address):
            return False
    return all((e.recording / "recording" / "manifest.json").is_file() for e in collected.specset.evaluations)


class _Pass:
    def __init__(self, spec_dir: Path, variables: Mapping[str, Any]):
        self.spec_dir = spec_dir
        self.root = spec_dir.resolve()
        self.variables = variables
        self.errors: list[SpecError] = []
        self.warnings: list[SpecError] = []
        self.documents: list[Document] = []
        self.declared: dict[str, tuple[str, int]] = {}  # address -> (file, line), valid or not
        self.names: dict[str, tuple[str, int]] = {}  # Kind.name -> (file, line), instances or not
        self.instances: dict[str, list[str]] = {}  # Kind.name of a for_each / matrix document -> keys
        self.failed_bases: set[str] = set()  # for_each / matrix documents whose instances are unknown
        self.imports: list[ImportBlock] = []
        self.moved: list[MovedBlock] = []
        self.settings: Settings | None = None
        self.policies: dict[str, Any] = {}  # Policy.name -> Policy (reconciler/config/policies.py)
        self.evaluations: dict[str, Any] = {}  # Evaluation.name -> Evaluation (reconciler/kinds/evaluation/)
        self.providers: dict[str, Any] = {}  # Provider name -> config.providers.Provider
        self.parse_failed = False
        self.invalid: list[Document] = []  # documents with errors: still checked for bad references
        self._max_instances: int | None = None

    def max_instances(self) -> int:
        """Settings.spec.limits.max_instances_per_document, read (once) before the first for_each /
        matrix document is expanded: the Settings document may come after it."""
        if self._max_instances is None:
            self._max_instances = declared_limits(self.spec_dir).max_instances_per_document
        return self._max_instances

    # --- one file, one document ---

    def run(self, files: list[Path] | None = None) -> Collected:
        # lazy: start-up (the YAML parser: not needed on a cache hit)
        from reconciler.config.yamlpos import load_file

        files = spec_files(self.spec_dir) if files is None else files
        for path in files:
            if self.outside_link(path):
                continue
            raws, errors = load_file(path, str(path))
            if errors:
                self.parse_failed = True
                self.errors.extend(errors)
            # Consume the parsed documents as they are checked: each raw value and its positions
            # can go as soon as its Document exists (20,000 documents are not all held twice).
            raws.reverse()
            display, base_dir = str(path), path.parent  # one of each per file, not per document
            while raws:
                self.document(raws.pop(), display, base_dir)
        ordered = self.cross_checks()
        self.check_provider_choices(ordered)
        self.check_evaluation_targets()
        specset = SpecSet(
            {d.address: d for d in ordered}, tuple(self.imports), tuple(self.moved), tuple(self.warnings),
            self.settings or Settings(), tuple(self.policies.values()), {n: p for n, p in self.providers.items() if p is not None},
            tuple(self.evaluations.values()),
        )
        return Collected(specset, self.errors, self.warnings, [str(p) for p in files], self.invalid)

    def outside_link(self, path: Path) -> bool:
        """A spec file that is a symlink resolving outside the spec folder is refused unread (like
        File paths): its content must never be parsed, let alone echoed in an error."""
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            problem = f"cannot be resolved ({type(exc).__name__}); not read"
        else:
            if resolved.is_relative_to(self.root):
                return False
            problem = (f"is a link to {resolved}, outside the spec folder {self.spec_dir}; not read "
                       f"(copy the file into the folder or remove the link)")
        self.parse_failed = True
        self.add(str(path), None, problem)
        return True

    def not_text(self, value: Any, file: str, line_of: Any) -> bool:
        """A string holding a lone surrogate (YAML's "\\ud800" escape) is not text: no API takes it,
        UTF-8 cannot write it. One error per string; whether there was any."""
        found = False
        for path, text in iter_strings(value):
            char = next((c for piece in (*path, text) if isinstance(piece, str)
                         for c in piece if "\ud800" <= c <= "\udfff"), None)
            if char is not None:
                found = True
                self.add(file, line_of(path), f"not Unicode text: a lone surrogate (\\u{ord(char):04x}, "
                         "from a YAML \\u escape); write the character itself", None, display_path(path))
        return found

    def add(
        self,
        file: str,
        line: int | None,
        message: str,
        address: str | None = None,
        fieldpath: str | None = None,
        severity: str = "error",
    ) -> None:
        error = SpecError(file, line, message, address, fieldpath or None, severity)
        (self.warnings if severity == "warning" else self.errors).append(error)

    def document(self, raw: RawDocument, file: str, base_dir: Path) -> None:
        value = raw.value
        line_of = _line_finder(raw)
        if self.not_text(value, file, line_of):
            return
        if not isinstance(value, dict):
            self.add(
                file,
                raw.line,
                f"a document must be a mapping with kind, name and spec; got {schemas.describe(value)}",
            )
            return
        if "kind" not in value and ("import" in value or "moved" in value):
            self.block(value, raw, file)
            return
        kind = value.get("kind")
        if kind == POLICY_KIND:
            self.policy_document(value, raw, file)
            return
        if kind == SETTINGS_KIND:
            self.settings_document(value, raw, file)
            return
        if kind == EVALUATION_KIND:
            self.evaluation_document(value, raw, file, base_dir)
            return
        if kind == provider_docs.PROVIDER_KIND:
            self.provider_document(value, raw, file)
            return
        if "kind" not in value:
            self.add(file, raw.line, f"missing 'kind' (one of {', '.join(EVERY_KIND)})")
            return
        if not isinstance(kind, str) or kind not in KINDS:
            shown = schemas.describe(kind)
            hint = schemas.suggest(kind, EVERY_KIND) if isinstance(kind, str) else ""
            self.add(file, line_of(("kind",)), f"unknown kind {shown}{hint}; kinds are {', '.join(EVERY_KIND)}")
            return
        name = value.get("name")
        base = f"{kind}.{name}" if isinstance(name, str) and _matches(NAME_PATTERN, name) else None
        if base:
            if base in self.names:
                first_file, first_line = self.names[base]
                self.add(
                    file,
                    line_of(("name",)),
                    f"declared twice (first at {first_file}:{first_line}); names must be unique per kind",
                    base,
                )
                return
            self.names[base] = (file, line_of(("name",)))
        instances, problems = instances_of(value, self.variables, self.max_instances)
        for where, message in problems:
            self.add(file, line_of(where), message, base, display_path(where))
        if instances is None:
            if base:
                self.declared[base] = self.names[base]
            self.instance(value, raw, file, base_dir, kind, base, None)
            return
        body = {k: v for k, v in value.items() if k not in EACH_KEYS}
        if not base:
            self.instance(body, raw, file, base_dir, kind, None, None)  # reports the name
            return
        if problems:
            self.failed_bases.add(base)
            return
        self.instances[base] = [i.key for i in instances]
        first_error = len(self.errors)
        for each in instances:
            address = instance_address(base, each.key)
            self.declared[address] = self.names[base]
            self.instance(body, raw, file, base_dir, kind, address, each)
        # the same mistake in every instance is reported once (with the first instance's address)
        seen: set[tuple[Any, ...]] = set()
        kept = []
        for error in self.errors[first_error:]:
            mark = (error.file, error.line, error.message, error.field)
            if mark not in seen:
                seen.add(mark)
                kept.append(error)
        self.errors[first_error:] = kept

    def instance(self, value: dict[str, Any], raw: RawDocument, file: str, base_dir: Path, kind: str,
                 address: str | None, each: Instance | None) -> None:
        """One document, or one instance of a for_each / matrix document (`each` set)."""
        line_of = _line_finder(raw)
        substituted: set[tuple[Any, ...]] = set()

        def missing(path: tuple[Any, ...], var: str) -> None:
            full = ("spec",) + path
            self.add(
                file,
                line_of(full),
                f"undefined variable {var!r}: set it with RECONCILER_VAR_{var}=..., "
                f"--var {var}=... or a --var-file",
                address,
                display_path(full),
            )

        doc = dict(value)
        provider, provider_error = provider_docs.check_provider_choice(
            doc.pop("provider", None), file, line_of(("provider",)), address)
        if provider_error is not None:
            self.errors.append(provider_error)
        each_failed = False
        if each is not None and isinstance(doc.get("spec"), dict):
            def each_problem(path: tuple[Any, ...], message: str) -> None:
                nonlocal each_failed
                each_failed = True
                full = ("spec",) + path
                self.add(file, line_of(full), message, address, display_path(full))

            doc["spec"] = substitute_each(doc["spec"], each, each_problem)
        if "spec" in doc and isinstance(doc["spec"], dict):
            doc["spec"] = substitute_vars(doc["spec"], self.variables, missing, lambda p: substituted.add(p))
        problems = schemas.validate(kind, doc)
        if problems and substituted:
            doc["spec"] = _coerce(doc["spec"], substituted, problems)
            problems = schemas.validate(kind, doc)
        for p in problems:
            self.add(file, line_of(p.path), p.message, address, display_path(p.field))
        if each_failed:
            return
        if problems:
            if address and isinstance(doc.get("spec"), dict):
                self.invalid.append(
                    Document(
                        kind, _name_of(address), doc["spec"], file, raw.line, base_dir,
                        positions=dict(raw.positions), resource_type=registry.get(kind).type,
                    )
                )
            return
        assert address is not None  # name valid: the schema checked its pattern
        spec, findings = registry.get(kind).check(doc["spec"])
        failed = False
        for f in findings:
            self.add(file, line_of(f.path), f.message, address, display_path(f.path), f.severity)
            failed = failed or f.severity == "error"
        lifecycle_problems = self.lifecycle_problems(kind, doc.get("lifecycle") or {})
        for path, message in lifecycle_problems:
            self.add(file, line_of(path), message, address, display_path(path))
        if registry.get(kind).local_file:
            failed = self.check_path(spec, base_dir, file, line_of, address) or failed
        lifecycle = doc.get("lifecycle") or {}
        conditions, condition_errors = compile_conditions(lifecycle, file, line_of, address)
        self.errors.extend(condition_errors)
        if failed or lifecycle_problems or condition_errors:
            return
        self.documents.append(
            Document(
                kind=kind,
                name=_name_of(address),
                spec=spec,
                file=file,
                line=raw.line,
                base_dir=base_dir,
                lifecycle=_lifecycle(
                    bool(lifecycle.get("prevent_destroy", False)),
                    tuple(lifecycle.get("ignore_changes", ())),
                    bool(lifecycle.get("create_before_destroy", False)),
                    conditions["precondition"], conditions["postcondition"],
                    bool(lifecycle.get("delete_model_on_destroy", False)),
                ),
                depends_on=tuple(doc.get("depends_on", ())),
                positions=Positions(raw.positions),
                provider=provider,
                resource_type=registry.get(kind).type,
            )
        )

    def policy_document(self, value: dict[str, Any], raw: RawDocument, file: str) -> None:
        policy, problems = check_policy_document(value, file, raw.line, raw.positions, tuple(KINDS))
        self.errors.extend(problems)
        if policy is None:
            return
        if not self.first_declaration(self.policies, policy.address, file, raw.line, "policy"):
            return
        self.policies[policy.address] = policy
        required = {kind: registry.get(kind).spec_schema().get("required", ()) for kind in policy.match}
        self.warnings.extend(nullable_warnings(policy, required))

    def evaluation_document(self, value: dict[str, Any], raw: RawDocument, file: str, base_dir: Path) -> None:
        evaluation, problems = check_evaluation_document(value, file, raw.line, raw.positions, base_dir)
        self.errors.extend(problems)
        if evaluation is None:
            return
        if self.first_declaration(self.evaluations, evaluation.address, file, raw.line, "evaluation"):
            self.evaluations[evaluation.address] = evaluation

    def first_declaration(self, seen: Mapping[str, Any], address: str, file: str, line: int, noun: str) -> bool:
        """True when no document of the same address was declared before; else says so, once."""
        first = seen.get(address)
        if first is None:
            return True
        self.add(file, line, f"declared twice (first at {first.file}:{first.line}); {noun} names must be unique",
                 address)
        return False

    def check_evaluation_targets(self) -> None:
        """An Evaluation's target reference names a declared document (a Deployment by its `model`)."""
        for evaluation in self.evaluations.values():
            if evaluation.target_ref is None:
                continue
            address, attribute = evaluation.target_ref
            if address.startswith("Deployment.") and attribute != "model":
                self.errors.append(SpecError(evaluation.file, evaluation.target_line,
                                             f"{evaluation.target}: an Evaluation asks a Deployment's model through "
                                             f"it: write ${{{address}.model}}", evaluation.address, "spec.target"))
                continue
            if address not in self.declared and address not in self.names:
                known = [a for a in self.declared if a.startswith(address.partition(".")[0] + ".")]
                hint = schemas.suggest(address, known)
                self.errors.append(SpecError(evaluation.file, evaluation.target_line,
                                             f"{evaluation.target} refers to {address}, which no document "
                                             f"declares{hint}", evaluation.address, "spec.target"))

    def provider_document(self, value: dict[str, Any], raw: RawDocument, file: str) -> None:
        provider, problems = provider_docs.check_provider_document(value, file, raw.line, _line_finder(raw))
        self.errors.extend(problems)
        if provider is None:
            if isinstance(value.get("name"), str):  # its users are not reported again as unknown
                self.providers.setdefault(value["name"], None)
            return
        first = self.providers.get(provider.name)
        if provider.name in self.providers:
            where = f" (first at {first.file}:{first.line})" if first is not None else ""
            self.add(file, raw.line, f"declared twice{where}; provider names must "
                     "be unique", provider.address)
            return
        self.providers[provider.name] = provider

    def check_provider_choices(self, documents: list[Document]) -> None:
        """Every `provider: NAME` names a Provider document (`default` may stay implicit)."""
        for doc in documents:
            name = doc.provider
            chosen = self.providers.get(name or provider_docs.DEFAULT_PROVIDER)
            kind = registry.get(doc.kind)
            if chosen is not None and (problem := provider_docs.platform_lacks(chosen, doc.kind, kind.absent_on)):
                line = doc.positions.get("provider", doc.line)
                self.errors.append(SpecError(doc.file, line, problem, doc.address, "provider"))
            if kind.control_plane:
                self.check_control_plane(doc)
            if name is None or name in self.providers or name == provider_docs.DEFAULT_PROVIDER:
                continue
            line = doc.positions.get("provider", doc.line)
            declared = {n: p for n, p in self.providers.items() if p is not None}
            self.errors.append(provider_docs.unknown_provider(name, declared, doc.file, line, doc.address))

    def check_control_plane(self, doc: Document) -> None:
        """A kind managed through Azure Resource Manager needs a provider with an ARM account."""
        name = doc.provider or provider_docs.DEFAULT_PROVIDER
        provider = self.providers.get(name)
        if provider is None and name not in self.providers and doc.provider is not None:
            return  # an unknown provider: said once, below
        problem = provider.arm_problem() if provider is not None else (
            f"there is no Provider document named {name!r} with an Azure Resource Manager account")
        if provider is not None and provider.type != "azure":
            self.errors.append(SpecError(doc.file, doc.positions.get("provider", doc.line),
                                         f"a {doc.kind} exists only on Azure: {provider.address} is of type "
                                         f"{provider.type} (choose a Provider with type: azure)",
                                         doc.address, "provider"))
            return
        if problem:
            self.errors.append(SpecError(doc.file, doc.positions.get("provider", doc.line),
                                         f"a {doc.kind} is managed through Azure Resource Manager: {problem} "
                                         "(add subscription_id, resource_group and account to the Provider)",
                                         doc.address, "provider"))

    def settings_document(self, value: dict[str, Any], raw: RawDocument, file: str) -> None:
        settings, problems = check_settings_document(value, file, raw.line, raw.positions)
        self.errors.extend(problems)
        if settings is None:
            return
        if self.settings is not None:
            self.errors.append(twice(self.settings, file, raw.line))
            return
        self.settings = settings

    def lifecycle_problems(self, kind: str, lifecycle: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
        spec_schema = schemas.kind_schema(kind)["$defs"]
        fields = spec_schema[spec_def_name(kind)]["properties"]
        out: list[tuple[tuple[Any, ...], str]] = []
        if lifecycle.get("delete_model_on_destroy") and not registry.get(kind).has_model:
            makers = sorted({k.type for k in registry.all_kinds() if k.has_model})
            out.append((("lifecycle", "delete_model_on_destroy"),
                        f"only a {' or '.join(makers)} has a fine-tuned model to delete; a {kind} has none"))
        for i, path in enumerate(lifecycle.get("ignore_changes", ())):
            head = path.split(".")[0].split("[")[0]
            if head not in fields:
                out.append(
                    (
                        ("lifecycle", "ignore_changes", i),
                        f"{path!r} is not a field of {kind} spec{schemas.suggest(head, fields)}",
                    )
                )
        return out

    def check_path(self, spec: dict[str, Any], base_dir: Path, file: str, line_of: Any, address: str) -> bool:
        raw = spec["path"]
        where = ("spec", "path")
        if "${" in raw:
            return True  # reported by checks
        target = base_dir / raw
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError) as exc:
            self.add(file, line_of(where), f"{raw} cannot be resolved: {exc}", address, "spec.path")
            return True
        if not spec.get("allow_outside_spec_dir") and not resolved.is_relative_to(self.root):
            self.add(
                file,
                line_of(where),
                f"{raw} resolves outside the spec folder {self.spec_dir} (to "
                f"{resolved}); set allow_outside_spec_dir: true to allow it",
                address,
                "spec.path",
            )
            return True
        if not target.exists():
            self.add(
                file, line_of(where), f"{raw} does not exist (looked for {target})", address, "spec.path"
            )
            return True
        if not target.is_file():
            self.add(file, line_of(where), f"{raw} is not a file", address, "spec.path")
            return True
        return False

    def block(self, value: dict[str, Any], raw: RawDocument, file: str) -> None:
        line_of = _line_finder(raw)
        key = "import" if "import" in value else "moved"
        extra = [k for k in value if k != key]
        if extra:
            self.add(
                file,
                line_of((extra[0],)),
                f"unknown field {extra[0]!r} beside {key!r} (an {key} block holds only {key}: {{...}})",
            )
            return
        body = value[key]
        fields = ("to", "id") if key == "import" else ("from", "to")
        if not isinstance(body, dict):
            self.add(file, line_of((key,)), f"{key} must be a mapping with {' and '.join(fields)}")
            return
        ok = True
        for k in body:
            if k not in fields:
                self.add(
                    file, line_of((key, k)), f"unknown field {k!r}{schemas.suggest(k, fields)}", None, key
                )
                ok = False
        for k in fields:
            if k not in body:
                self.add(file, line_of((key,)), f"missing required field {k!r}", None, key)
                ok = False
            elif not isinstance(body[k], str) or not body[k]:
                self.add(
                    file,
                    line_of((key, k)),
                    f"expected a string, got {schemas.describe(body[k])}",
                    None,
                    f"{key}.{k}",
                )
                ok = False
            elif k != "id" and not is_address(body[k]):
                self.add(
                    file,
                    line_of((key, k)),
                    f'{body[k]!r} is not an address like FineTuningJob.name or FineTuningJob.name["key"]',
                    None,
                    f"{key}.{k}",
                )
                ok = False
        if not ok:
            return
        if key == "import":
            self.imports.append(ImportBlock(body["to"], body["id"], file, line_of((key,))))
        else:
            self.moved.append(MovedBlock(body["from"], body["to"], file, line_of((key,))))

    # --- across documents ---

    def cross_checks(self) -> list[Document]:
        known = {d.address: d for d in self.documents}
        edges: dict[str, list[str]] = {}
        final: dict[str, Document] = {}
        addresses: dict[str, str] = {}  # one string per referenced address, however often referenced
        for doc in self.documents + self.invalid:
            deps: list[str] = []
            ok = True
            doc, expanded = self.expand_splats(doc)
            ok = ok and expanded
            for path, text in iter_strings(doc.spec, ("spec",)):
                for _token, ref in scan(text):
                    where = display_path(path)
                    if isinstance(ref, RefSyntaxError):
                        self.errors.append(doc.error(where, str(ref)))
                        ok = False
                    elif ref.is_var:
                        ok = False  # undefined: already reported
                    else:
                        problem = self.ref_problem(ref)
                        if problem:
                            if problem != "skip":
                                self.errors.append(doc.error(where, problem))
                            ok = False
                        elif ref.address not in deps:
                            deps.append(addresses.setdefault(ref.address, ref.address))
            for i, dep in enumerate(doc.depends_on):
                if dep in self.instances:  # every instance of a for_each / matrix document
                    deps.extend(a for a in (instance_address(dep, k) for k in self.instances[dep])
                                if a not in deps)
                elif dep in self.failed_bases or base_of(dep) in self.failed_bases:
                    ok = False  # its for_each / matrix is reported
                elif dep not in self.declared and not self.parse_failed:
                    self.errors.append(
                        doc.error(
                            f"depends_on[{i}]",
                            f"depends on undeclared {dep}{schemas.suggest(dep, self.declared)}",
                        )
                    )
                    ok = False
                elif dep not in deps:
                    deps.append(dep)
            if ok and doc.address in known:
                final[doc.address] = Document(
                    doc.kind,
                    doc.name,
                    doc.spec,
                    doc.file,
                    doc.line,
                    doc.base_dir,
                    doc.lifecycle,
                    tuple(deps),
                    doc.positions,
                    doc.provider,
                    doc.resource_type,
                )
                edges[doc.address] = deps
        order, cycles = topological_order(list(final), edges)
        for cycle in cycles:
            first = final[cycle[0]]
            self.errors.append(
                SpecError(first.file, first.line, "dependency cycle: " + " → ".join(cycle), first.address)
            )
        on_cycle = {a for c in cycles for a in c}
        self.check_blocks()
        return [final[a] for a in order if a not in on_cycle]

    def expand_splats(self, doc: Document) -> tuple[Document, bool]:
        """`${Kind.name[*].attr}` → the list of every instance's reference (or the problem)."""
        if "[*]" not in repr(doc.spec):
            return doc, True
        problems: list[SpecError] = []

        def problem(path: tuple[Any, ...], message: str) -> None:
            problems.append(doc.error(display_path(("spec",) + path), message))

        # a document whose for_each is at fault has no instances to list (its error is reported)
        known: dict[str, list[str]] = {**{b: [] for b in self.failed_bases}, **self.instances}
        spec = expand_splats(doc.spec, known, problem)
        if self.parse_failed:
            problems = []  # the document with the instances may be in what could not be read
        self.errors.extend(problems)
        return dataclasses.replace(doc, spec=spec), not problems

    def ref_problem(self, ref: Ref) -> str | None:
        if ref.address.endswith("[*]"):
            return "skip"  # a [*] left after expand_splats: reported there
        if ref.address.startswith("each."):
            return f"{ref.text} is only known in a document with for_each or matrix"
        if ref.address not in self.declared:
            return self.instance_problem(ref)
        kind = ref.kind
        known = registry.KINDS.get(kind)
        attrs = known.attributes if known is not None else frozenset()
        if not ref.path:
            example = "id" if "id" in attrs else sorted(attrs)[0]
            return f"{ref.text} needs an attribute, e.g. ${{{ref.address}.{example}}}"
        if ref.path[0] not in attrs:
            hint = schemas.suggest(ref.path[0], attrs) or f"; it exposes {', '.join(sorted(attrs))}"
            return f"{kind} has no attribute {ref.path[0]!r}{hint}"
        return None

    def instance_problem(self, ref: Ref) -> str | None:
        """Why a reference names no declared address: an instance key that does not exist, a key on
        a document without instances, no key on one with them, or an undeclared document."""
        parsed = parse_address(ref.address)
        base = parsed.base if parsed else ref.address
        if base in self.failed_bases:
            return "skip"  # its for_each / matrix is reported
        keys = self.instances.get(base)
        attr = ".".join(ref.path) or "id"
        if parsed is not None and parsed.key is not None and keys is not None:
            hint = schemas.suggest(parsed.key, keys)
            shown = ", ".join(f'"{k}"' for k in keys[:6]) + (", ..." if len(keys) > 6 else "")
            return f'{base} has no instance "{parsed.key}"{hint}; its keys are {shown or "none"}'
        if parsed is not None and parsed.key is not None and base in self.declared:
            return f"{base} has no for_each or matrix: write ${{{base}.{attr}}}"
        if keys is not None:
            example = instance_address(base, keys[0]) if keys else f'{base}["KEY"]'
            return (f"{base} has instances (for_each / matrix): name one, ${{{example}.{attr}}}, "
                    f"or all, ${{{base}[*].{attr}}}")
        if self.parse_failed:
            return "skip"  # it may be in the part of a file that could not be read
        hint = schemas.suggest(base, self.names)
        return f"reference to undeclared {base}{hint}"

    def check_blocks(self) -> None:
        imported: dict[str, ImportBlock] = {}
        for block in self.imports:
            if block.to not in self.declared and not self.parse_failed:
                self.add(
                    block.file,
                    block.line,
                    f"import into undeclared {block.to}: declare it in a spec too",
                    None,
                    "import.to",
                )
            if block.to.startswith("data."):
                self.add(block.file, block.line, "data sources are read, not imported", None, "import.to")
            if block.to in imported:
                first = imported[block.to]
                self.add(
                    block.file,
                    block.line,
                    f"{block.to} is imported twice (first at {first.file}:{first.line})",
                    None,
                    "import.to",
                )
            imported[block.to] = block
        sources: dict[str, MovedBlock] = {}
        for moved in self.moved:
            if moved.to not in self.declared and not self.parse_failed:
                self.add(
                    moved.file,
                    moved.line,
                    f"moved to undeclared {moved.to}: declare the new address",
                    None,
                    "moved.to",
                )
            if moved.from_ in self.declared:
                self.add(
                    moved.file,
                    moved.line,
                    f"{moved.from_} is still declared; a moved block renames an "
                    "address that no longer exists",
                    None,
                    "moved.from",
                )
            if kind_of_address(moved.from_) != kind_of_address(moved.to):
                self.add(
                    moved.file,
                    moved.line,
                    f"moved cannot change the kind ({moved.from_} → {moved.to})",
                    None,
                    "moved.to",
                )
            if moved.from_ in sources:
                earlier = sources[moved.from_]
                self.add(
                    moved.file,
                    moved.line,
                    f"{moved.from_} is moved twice (first at {earlier.file}:{earlier.line})",
                    None,
                    "moved.from",
                )
            sources[moved.from_] = moved


def _name_of(address: str) -> str:
    """The Document name of an address: `sweep` or, for an instance, `sweep["key"]`."""
    parsed = parse_address(address)
    assert parsed is not None
    return parsed.name if parsed.key is None else f'{parsed.name}["{parsed.key}"]'


def _line_finder(raw: RawDocument) -> Any:
    return line_finder(raw.positions, raw.line)


def _matches(pattern: str, text: str) -> bool:
    import re

    return re.match(pattern, text) is not None


def _coerce(spec: dict[str, Any], paths: set[tuple[Any, ...]], problems: list[Any]) -> dict[str, Any]:
    """A variable given as text ("42" from the environment) where the schema wants a number or a
    boolean: read it as YAML would, but only at paths the schema complained about."""
    import yaml

    bad = {p.path[1:] for p in problems if p.path and p.path[0] == "spec"}
    for path in paths:
        if path not in bad:
            continue
        target: Any = spec
        for part in path[:-1]:
            target = target[part]
        value = target[path[-1]]
        if not isinstance(value, str):
            continue
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            continue
        if isinstance(parsed, (int, float, bool)):
            target[path[-1]] = parsed
    return spec
