"""The lineage marks objects carry (reconciler/resources/ownership.py), table-driven."""

from __future__ import annotations

import pytest

from reconciler.resources.ownership import file_owner, job_owner, legacy_adoptable, mark, marked_filename

L = "5f0c4c8e-2d7a-4f7e-9a51-0c1d2e3f4a5b"

NAMES = [
    ("train.jsonl", f"train.reconciler-{L}.jsonl"),
    ("my.data.v2.jsonl", f"my.data.v2.reconciler-{L}.jsonl"),   # the extension stays last
    ("noext", f"noext.reconciler-{L}"),
    (".hidden", f".hidden.reconciler-{L}"),
]


@pytest.mark.parametrize(("name", "marked"), NAMES)
def test_marked_filename_round_trips(name: str, marked: str) -> None:
    assert marked_filename(name, L) == marked
    assert file_owner({"filename": marked}) == L


@pytest.mark.parametrize("name", ["train.jsonl", "reconciler-x.jsonl", "train.reconciler-.jsonl", None, 7])
def test_unmarked_files_have_no_owner(name: object) -> None:
    assert file_owner({"filename": name}) is None


def test_a_lineage_with_other_characters_is_marked_by_its_digest() -> None:
    odd = "team a / prod"
    assert mark(odd) != odd and len(mark(odd)) == 32 and mark(odd) == mark(odd)
    assert file_owner({"filename": marked_filename("t.jsonl", odd)}) == mark(odd)
    assert len(marked_filename("t.jsonl", L)) <= 64 + len("t.jsonl") + len(".reconciler-")


@pytest.mark.parametrize(("metadata", "owner"), [
    ({"reconciler_lineage": L}, L), ({"reconciler_address": "FineTuningJob.bot"}, None),
    (None, None), ("x", None), ({"reconciler_lineage": ""}, None), ({"reconciler_lineage": 3}, None),
])
def test_job_owner(metadata: object, owner: str | None) -> None:
    assert job_owner({"metadata": metadata}) == owner


def test_only_a_state_written_before_adopts_unmarked_objects() -> None:
    assert not legacy_adoptable(0) and legacy_adoptable(1)


def test_the_job_metadata_stays_within_the_api_limits() -> None:
    from reconciler.config.schema_source import MAX_METADATA
    from reconciler.kinds.job.inputs import create_body

    spec = {"model": "gpt-4o-mini", "training_file": "file-1",
            "metadata": {f"k{i}": "v" for i in range(MAX_METADATA)}}
    body = create_body(spec, "FineTuningJob." + "x" * 64, "0" * 64, "L" * 300)
    assert len(body["metadata"]) == 16
    assert all(len(k) <= 64 and len(v) <= 512 for k, v in body["metadata"].items())
