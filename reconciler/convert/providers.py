"""What each public OpenAI Terraform provider (and provider version) calls the same things.

One table per provider and version, read from its schema (the Go source) and its `examples/`
folder; every row names the repository, path and commit it was read from. The converter and
`state import-terraform` both go through `canonical_type()` / `argument_aliases()` /
`reference_renames()`: an alias becomes the seeds' spelling (`openai_fine_tuning_job`,
`fine_tuned_model_checkpoint`, ...), which mapping.py and tfstate.py then convert.

`filename` on `openai_file` is the one argument whose meaning differs between providers (the
upload's path for skyscrapr before June 2023, a display name for HappyPathway, computed for
skyscrapr after); `file_argument()` decides it from the arguments beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DROPPED",
    "LEGACY_DATA",
    "NUMERIC_FIELDS",
    "PROVIDERS",
    "ProviderTable",
    "argument_aliases",
    "canonical_type",
    "file_argument",
    "reference_renames",
]


@dataclass(frozen=True)
class ProviderTable:
    provider: str  # registry source, e.g. "mkdev-me/openai"
    version: str  # which releases the names hold for
    source: str  # repository, path and commit the names were read from
    licence: str
    resources: dict[str, str] = field(default_factory=dict)  # type -> canonical type
    data: dict[str, str] = field(default_factory=dict)
    # (mode, canonical type) -> {argument as written: canonical argument path ("a.b" nests)}
    arguments: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # (mode, canonical type) -> {argument: why it is left out}
    dropped: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # (mode, type as written) -> {attribute: canonical attribute}, for references
    references: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


JOB, FILE, PERM = "openai_fine_tuning_job", "openai_file", "openai_fine_tuning_checkpoint_permission"
R, D = "resource", "data"
_WAIT = "reconciler apply returns once the job is created; `reconciler plan` shows how it goes (wait has no equivalent)"
_GONE = "no longer exists in the fine-tuning API"
_AFTER = "pagination is handled by reconciler (after is not needed)"

_LISTS = ("openai_fine_tuning_jobs", "openai_fine_tuning_job_checkpoints", "openai_fine_tuning_checkpoint_permission",
          "openai_fine_tuning_checkpoint_permissions")

PROVIDERS: tuple[ProviderTable, ...] = (
    ProviderTable(
        "generated (seed 000)", "seed 000", "/work/shared/seeds/000 (copied to tests/convert/fixtures/seed000)",
        "reference text",
        # every list data source: `limit` bounds what is read (max_items), `after` is pagination
        arguments={(D, t): {"limit": "max_items"} for t in _LISTS},
        dropped={(D, t): {"after": _AFTER} for t in _LISTS},
    ),
    ProviderTable(
        "mkdev-me/openai", "1.x (SDKv2)",
        "github.com/mkdev-me/terraform-provider-openai internal/provider/provider.go, "
        "resource_openai_fine_tuned_model.go, data_source_openai_fine_tuning_checkpoints.go, "
        "data_source_openai_fine_tuning_checkpoint_permissions.go @ v1.0.0 (f5bbc4d, 2025-06-20); "
        "also seed 001",
        "MPL-2.0",
        resources={"openai_fine_tuned_model": JOB},
        data={"openai_fine_tuning_checkpoints": "openai_fine_tuning_job_checkpoints"},
        arguments={
            (R, PERM): {"checkpoint_id": "fine_tuned_model_checkpoint"},
            (D, "openai_fine_tuning_checkpoint_permissions"): {"checkpoint_id": "fine_tuned_model_checkpoint",
                                                               "limit": "max_items"},
            (D, "openai_fine_tuning_job_checkpoints"): {"limit": "max_items"},
            (D, "openai_fine_tuning_jobs"): {"limit": "max_items"},
        },
        dropped={
            (R, JOB): {"completion_window": "not an argument of the fine-tuning API (mkdev-me 1.x's "
                                            "openai_fine_tuned_model sends nothing for it)"},
            (R, FILE): {"project_id": "the project comes from the API key (or a Provider document)"},
            (R, PERM): {"admin_api_key": "reconciler reads the admin key from OPENAI_ADMIN_KEY (never from a spec)"},
            (D, "openai_fine_tuning_job_checkpoints"): {"after": _AFTER},
            (D, "openai_fine_tuning_jobs"): {"after": _AFTER},
            (D, "openai_fine_tuning_checkpoint_permissions"): {"after": _AFTER},
        },
        references={
            (R, PERM): {"checkpoint_id": "fine_tuned_model_checkpoint"},
            (D, "openai_fine_tuning_checkpoints"): {"checkpoints": "items"},
            (D, "openai_fine_tuning_jobs"): {"jobs": "items"},
            (D, "openai_fine_tuning_checkpoint_permissions"): {"permissions": "items",
                                                               "checkpoint_id": "fine_tuned_model_checkpoint"},
        },
    ),
    ProviderTable(
        "mkdev-me/openai", "2.x (plugin framework: method = {...}, hyperparameters as strings)",
        "github.com/mkdev-me/terraform-provider-openai internal/provider/resource_openai_fine_tuning_job.go, "
        "resource_openai_fine_tuning_checkpoint_permission.go, data_source_openai_fine_tuning_job.go "
        "@ 01bcb17 (2026-05-07; v2.0.0 is e1b6454)",
        "MPL-2.0",
        arguments={(R, PERM): {"checkpoint_id": "fine_tuned_model_checkpoint"},
                   (D, "openai_fine_tuning_jobs"): {"limit": "max_items"}},
        dropped={(R, FILE): {"project_id": "the project comes from the API key (or a Provider document)"},
                 (D, "openai_fine_tuning_jobs"): {"after": _AFTER}},
        references={(R, PERM): {"checkpoint_id": "fine_tuned_model_checkpoint"},
                    (D, "openai_fine_tuning_jobs"): {"jobs": "items"}},
    ),
    ProviderTable(
        "happypathway/openai", "5.x",
        "github.com/HappyPathway/terraform-provider-openai internal/resources/fine_tune_resource.go, "
        "file_resource.go @ def4c90 (2025-03-14)",
        "no licence file (fixtures are written from the argument names, not copied)",
        resources={"openai_fine_tune": JOB},
        arguments={
            (R, JOB): {"training_file_id": "training_file", "validation_file_id": "validation_file",
                       "epochs": "hyperparameters.n_epochs", "batch_size": "hyperparameters.batch_size",
                       "learning_rate_multiplier": "hyperparameters.learning_rate_multiplier"},
            (R, FILE): {"file_path": "file"},
        },
        dropped={
            (R, JOB): {"prompt_loss_weight": _GONE, "compute_classification_metrics": _GONE,
                       "classification_n_classes": _GONE, "classification_positive_class": _GONE},
        },
        references={(R, "openai_fine_tune"): {"training_file_id": "training_file",
                                              "validation_file_id": "validation_file"}},
    ),
    ProviderTable(
        "skyscrapr/openai", "0.x (fine-tunes API, before 2023-09-08)",
        "github.com/skyscrapr/terraform-provider-openai openai/finetune_resource.go, openai/file_resource.go, "
        "examples/resources/finetune_example/resource.tf @ 0e401ff (2023-06-12) and 66951db (2023-06-18); "
        "also seed 004",
        "MIT",
        arguments={(R, FILE): {"filepath": "file"}},
        dropped={(R, "openai_finetune"): {"wait": _WAIT}},
    ),
    ProviderTable(
        "skyscrapr/openai", "1.x (fine-tuning jobs API, from 2023-09-08)",
        "github.com/skyscrapr/terraform-provider-openai openai/finetuning_job_resource.go, "
        "openai/finetuning_jobs_data_source.go, openai/file_resource.go, "
        "examples/resources/openai_finetuning_job/resource.tf @ 22e04da (2025-06-16)",
        "MIT",
        resources={"openai_finetuning_job": JOB},
        data={"openai_finetuning_job": "openai_fine_tuning_job", "openai_finetuning_jobs": "openai_fine_tuning_jobs"},
        arguments={(R, FILE): {"filepath": "file"}, (D, "openai_fine_tuning_job"): {"id": "fine_tuning_job_id"}},
        dropped={(R, JOB): {"wait": _WAIT}},
        references={(D, "openai_finetuning_jobs"): {"jobs": "items"}},
    ),
)

# Data sources of the retired fine-tunes API (ft- ids): nothing to read any more.
LEGACY_DATA = {
    "openai_finetune": "the fine-tunes API it reads (ft- ids) was retired; use data openai_fine_tuning_job",
    "openai_finetunes": "the fine-tunes API it reads was retired; use data openai_fine_tuning_jobs",
}

# Fields whose value is a number in the spec: a quoted number there becomes a number, as
# Terraform converts "3" for a number attribute ("auto" stays a string).
NUMERIC_FIELDS = frozenset({"seed", "n_epochs", "batch_size", "learning_rate_multiplier", "beta",
                            "compute_multiplier", "eval_interval", "eval_samples", "max_items"})


def canonical_type(mode: str, type_: str) -> str:
    """The seeds' name for a resource or data type; the type itself when no provider renames it."""
    for table in PROVIDERS:
        names = table.resources if mode == R else table.data
        if type_ in names:
            return names[type_]
    return type_


def _merged(attr: str, mode: str, canonical: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for table in PROVIDERS:
        out.update(getattr(table, attr).get((mode, canonical), {}))
    return out


def argument_aliases(mode: str, canonical: str) -> dict[str, str]:
    """Every provider's other names for the arguments of a canonical type."""
    return _merged("arguments", mode, canonical)


DROPPED: dict[tuple[str, str], dict[str, str]] = {}
for _table in PROVIDERS:
    for _key, _reasons in _table.dropped.items():
        DROPPED.setdefault(_key, {}).update(_reasons)


def reference_renames(mode: str, type_: str) -> dict[str, str]:
    """Attribute renames when an expression refers to `type_` (as written) or its canonical type."""
    out = _merged("references", mode, canonical_type(mode, type_))
    out.update(_merged("references", mode, type_))
    return out


def file_argument(arguments: set[str]) -> tuple[str | None, str | None]:
    """(argument holding the upload's path, meaning of `filename`) for an openai_file block.

    HappyPathway: `file_path` (or inline `content`) is the upload, `filename` its display name.
    skyscrapr: `filepath` is the path and `filename` computed, except before June 2023 when
    `filename` was the path. mkdev-me and seed 001: `file`."""
    for name in ("file", "file_path", "filepath"):
        if name in arguments:
            return name, ("name" if "filename" in arguments else None)
    if "content" in arguments:
        return None, ("name" if "filename" in arguments else None)
    if "filename" in arguments:
        return "filename", "path"
    return None, None
