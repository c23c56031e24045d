"""Property: whatever the documents hold, loading and validating raises nothing but reports
SpecErrors. Examples: 200 by default, RECONCILER_FUZZ_EXAMPLES=N for more."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import SpecError
from reconciler.kinds.job.training_files import check_training_files
from reconciler.loading import collect_specs
from reconciler.loading.schema_source import KINDS

EXAMPLES = int(os.environ.get("RECONCILER_FUZZ_EXAMPLES", "200"))

KEYS = [
    "kind",
    "name",
    "spec",
    "lifecycle",
    "depends_on",
    "model",
    "training_file",
    "validation_file",
    "seed",
    "suffix",
    "metadata",
    "method",
    "type",
    "supervised",
    "dpo",
    "reinforcement",
    "grader",
    "graders",
    "hyperparameters",
    "n_epochs",
    "batch_size",
    "beta",
    "labels",
    "passing_labels",
    "path",
    "project_ids",
    "exclusive",
    "select",
    "lowest",
    "step",
    "import",
    "moved",
    "to",
    "from",
    "id",
    "cancel_after_timeout",
    "status",
    "integrations",
    "wandb",
    "project",
    "input",
    "range",
    "prompt_loss_weight",
    "suffix",
]
STRINGS = st.one_of(
    st.sampled_from(
        list(KINDS)
        + [
            "auto",
            "supervised",
            "dpo",
            "reinforcement",
            "multi",
            "label_model",
            "string_check",
            "${File.a.id}",
            "${var.x}",
            "${",
            "$${x}",
            "${data.X.y.z}",
            "2h",
            "FineTuningJob.a",
            "File.a",
            "a",
            "../x",
            "t.jsonl",
            "",
            "running",
        ]
    ),
    st.text(max_size=12),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=25,
)
DOCUMENTS = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.one_of(st.sampled_from(KINDS), STRINGS), "name": STRINGS},
        optional={"spec": VALUES, "lifecycle": VALUES, "depends_on": VALUES},
    ),
    VALUES,
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(DOCUMENTS, min_size=1, max_size=4), st.sampled_from(["yaml", "raw"]))
def test_random_documents_never_crash(docs: list[Any], mode: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "t.jsonl").write_text('{"messages": []}\n')
        if mode == "yaml":
            text = yaml.safe_dump_all(docs, allow_unicode=True)
        else:  # mangled text: YAML errors of every kind
            text = yaml.safe_dump_all(docs)[: len(str(docs)) % 97] + str(docs)[:40]
        (root / "s.yaml").write_text(text, encoding="utf-8")
        collected = collect_specs(root, {"x": "1"})
        for error in collected.errors + check_training_files(collected.specset):
            assert isinstance(error, SpecError)
            assert str(error).startswith(str(root / "s.yaml"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=200))
def test_random_text_never_crashes(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "s.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        for error in collect_specs(root, {}).errors:
            assert isinstance(error, SpecError)
