"""for_each / matrix: expansion into instance documents, their keys, each.*, references to
one instance and to all of them ([*]), and every bad input as one file:line problem. No server."""

from __future__ import annotations

import pytest

from reconciler.addresses import Address, base_of, expand_bases, kind_of, parse
from reconciler.loading import collect_specs, load_specs
from tests.config.conftest import chat_lines

FILE = "kind: File\nname: t\nspec: {path: t.jsonl}\n---\n"
EXTRA = {"t.jsonl": chat_lines()}


def job(head: str, body: str = "") -> str:
    """A FineTuningJob document named `sweep` with `head` (for_each / matrix lines) before its spec."""
    return (FILE + "kind: FineTuningJob\nname: sweep\n" + head
            + "spec:\n  model: gpt-4o-mini-2024-07-18\n  training_file: ${File.t.id}\n" + body)


def load(spec_dir, text: str, variables=None):
    return load_specs(spec_dir({"s.yaml": text, **EXTRA}), variables or {})


@pytest.mark.parametrize("head, keys", [
    ("for_each: [a, b]\n", ["a", "b"]),
    ("for_each: [0.1, 2]\n", ["0.1", "2"]),
    ("for_each: {small: 1, large: 2}\n", ["small", "large"]),
    ("matrix: {lr: [0.1, 0.2], epochs: [3, 1]}\n",
     ["lr=0.1,epochs=3", "lr=0.1,epochs=1", "lr=0.2,epochs=3", "lr=0.2,epochs=1"]),
    ("for_each: []\n", []),
    ("for_each: ${var.names}\n", ["x", "y"]),
    ("matrix: {seed: '${var.seeds}'}\n", ["seed=1", "seed=2"]),
])
def test_instance_keys(spec_dir, head: str, keys: list[str]) -> None:
    specs = load(spec_dir, job(head), {"names": ["x", "y"], "seeds": "[1, 2]"})
    found = [a for a in specs.documents if a.startswith("FineTuningJob.")]
    assert found == [f'FineTuningJob.sweep["{k}"]' for k in keys]
    for address in found:
        doc = specs.documents[address]
        assert doc.address == address and doc.kind == "FineTuningJob" and doc.depends_on == ("File.t",)


def test_each_key_and_value_are_substituted_with_their_types(spec_dir) -> None:
    body = ("  suffix: s-${each.key}\n  seed: ${each.value.seed}\n"
            "  metadata: {lr: 'lr ${each.value.lr}', key: '${each.key}'}\n")
    specs = load(spec_dir, job("for_each:\n  a: {lr: 0.5, seed: 7}\n  b: {lr: 2, seed: 8}\n", body))
    a = specs.documents['FineTuningJob.sweep["a"]'].spec
    assert a["seed"] == 7 and a["suffix"] == "s-a" and a["metadata"] == {"lr": "lr 0.5", "key": "a"}
    assert specs.documents['FineTuningJob.sweep["b"]'].spec["seed"] == 8


def test_matrix_each_value_fields(spec_dir) -> None:
    body = ("  method:\n    type: supervised\n    supervised:\n      hyperparameters:\n"
            "        learning_rate_multiplier: ${each.value.lr}\n        n_epochs: ${each.value.epochs}\n")
    specs = load(spec_dir, job("matrix: {lr: [0.5], epochs: [2, 4]}\n", body))
    hp = specs.documents['FineTuningJob.sweep["lr=0.5,epochs=4"]'].spec["method"]["supervised"]["hyperparameters"]
    assert hp == {"learning_rate_multiplier": 0.5, "n_epochs": 4}


def test_references_to_one_instance_and_to_all(spec_dir) -> None:
    text = job("for_each: [a, b, c]\n") + (
        "---\nkind: data.FineTuningJobCheckpoints\nname: one\n"
        'spec: {fine_tuning_job_id: \'${FineTuningJob.sweep["b"].id}\'}\n'
        "---\nkind: data.FineTuningJobCheckpoints\nname: all\n"
        "spec: {fine_tuning_job_ids: '${FineTuningJob.sweep[*].id}', select: {lowest: valid_loss}}\n")
    specs = load(spec_dir, text)
    one = specs.documents["data.FineTuningJobCheckpoints.one"]
    assert one.depends_on == ('FineTuningJob.sweep["b"]',)
    every = specs.documents["data.FineTuningJobCheckpoints.all"]
    assert every.spec["fine_tuning_job_ids"] == [f'${{FineTuningJob.sweep["{k}"].id}}' for k in "abc"]
    assert every.depends_on == tuple(f'FineTuningJob.sweep["{k}"]' for k in "abc")
    order = list(specs.documents)
    assert order.index('FineTuningJob.sweep["c"]') < order.index("data.FineTuningJobCheckpoints.all")


def test_depends_on_a_whole_sweep_and_instances_of_data_sources(spec_dir) -> None:
    text = job("for_each: [a, b]\n") + (
        "---\nkind: data.FineTuningJobCheckpoints\nname: per\nfor_each: [a, b]\n"
        "spec: {fine_tuning_job_id: '${FineTuningJob.sweep[\"${each.key}\"].id}'}\n"
        "---\nkind: data.FineTuningJobs\nname: after\ndepends_on: [FineTuningJob.sweep]\nspec: {}\n")
    specs = load(spec_dir, text)
    assert specs.documents['data.FineTuningJobCheckpoints.per["b"]'].depends_on == ('FineTuningJob.sweep["b"]',)
    assert specs.documents["data.FineTuningJobs.after"].depends_on == (
        'FineTuningJob.sweep["a"]', 'FineTuningJob.sweep["b"]')


def test_depends_on_one_instance(spec_dir) -> None:
    """depends_on names one instance as a reference does; before, the schema's address pattern
    refused `FineTuningJob.sweep["a"]` and only the whole sweep could be waited for."""
    text = job("for_each: [a, b]\n") + (
        "---\nkind: data.FineTuningJobs\nname: after\ndepends_on: ['FineTuningJob.sweep[\"a\"]']\nspec: {}\n")
    specs = load(spec_dir, text)
    assert specs.documents["data.FineTuningJobs.after"].depends_on == ('FineTuningJob.sweep["a"]',)
    order = list(specs.documents)
    assert order.index('FineTuningJob.sweep["a"]') < order.index("data.FineTuningJobs.after")


def test_moved_and_import_take_instance_addresses(spec_dir) -> None:
    text = job("for_each: [x]\n") + (
        '---\nmoved: {from: FineTuningJob.old, to: \'FineTuningJob.sweep["x"]\'}\n'
        '---\nimport: {to: \'FineTuningJob.sweep["x"]\', id: ftjob-1}\n')
    specs = load(spec_dir, text)
    assert specs.moved[0].to == 'FineTuningJob.sweep["x"]' and specs.imports[0].to == 'FineTuningJob.sweep["x"]'


@pytest.mark.parametrize("text, expected", [
    (job("for_each: hello\n"), "s.yaml:7: FineTuningJob.sweep: for_each: for_each must be a list or a map, got a string ('hello')"),
    (job("for_each: 3\n"), "s.yaml:7: FineTuningJob.sweep: for_each: for_each must be a list or a map, got a number"),
    (job("for_each: [a, b, a]\n"), "s.yaml:7: FineTuningJob.sweep: for_each[2]: duplicate instance key 'a'; keys must be unique"),
    (job("for_each: [1, '1']\n"), "s.yaml:7: FineTuningJob.sweep: for_each[1]: duplicate instance key '1'; keys must be unique"),
    (job('for_each: [\'a"b\']\n'), "s.yaml:7: FineTuningJob.sweep: for_each[0]: invalid instance key 'a\"b': a key holds 1 to 128 "
                                    "characters and no \" \\ [ ] { } $ or control characters"),
    (job("for_each: ['']\n"), "s.yaml:7: FineTuningJob.sweep: for_each[0]: invalid instance key '': a key holds 1 to 128 "
                               "characters and no \" \\ [ ] { } $ or control characters"),
    (job("for_each: [{a: 1}]\n"), "s.yaml:7: FineTuningJob.sweep: for_each[0]: a for_each list holds strings or numbers, got dict; "
                                   "for several fields per instance write a map (key: {field: value})"),
    (job("matrix:\n  lr: [0.1]\n  epochs: []\n"), "s.yaml:9: FineTuningJob.sweep: matrix.epochs: matrix.epochs is an empty list: "
                                                  "the matrix would have no rows; give it a value or remove it"),
    (job("matrix: {lr: 0.1}\n"), "s.yaml:7: FineTuningJob.sweep: matrix.lr: matrix.lr must be a list, got a number"),
    (job("matrix: {lr: [1, 1]}\n"), "s.yaml:7: FineTuningJob.sweep: matrix.lr[1]: matrix.lr lists '1' twice"),
    (job("for_each: [a]\nmatrix: {lr: [1]}\n"), "s.yaml:8: FineTuningJob.sweep: matrix: a document has for_each or matrix, not both"),
    (job("for_each: ${var.nope}\n"), "s.yaml:7: FineTuningJob.sweep: for_each: undefined variable 'nope': set it with "
                                      "RECONCILER_VAR_nope=..., --var nope=... or a --var-file"),
    (job("for_each: ${File.t.id}\n"), "s.yaml:7: FineTuningJob.sweep: for_each: the for_each value depends on resource attributes "
                                       "that cannot be determined until apply (${File.t.id}); use a literal list or map, or a variable"),
    (job("", "  suffix: ${each.key}\n"), "s.yaml:10: FineTuningJob.sweep: spec.suffix: ${each.key} is only known in a document "
                                         "with for_each or matrix"),
    (job("for_each: [a]\n", "  suffix: ${each.value.lr}\n"),
     "s.yaml:11: FineTuningJob.sweep[\"a\"]: spec.suffix: ${each.value.lr}: each.value (for key 'a') has no field 'lr'"),
    (job("for_each: [a]\n", "  suffix: ${each.name}\n"),
     "s.yaml:11: FineTuningJob.sweep[\"a\"]: spec.suffix: ${each.name} is not ${each.key}, ${each.value} or ${each.value.FIELD}"),
    (job("for_each: [alpha, beta]\n") + "---\nkind: data.FineTuningJobCheckpoints\nname: c\n"
     "spec: {fine_tuning_job_id: '${FineTuningJob.sweep[\"alpah\"].id}'}\n",
     "s.yaml:14: data.FineTuningJobCheckpoints.c: spec.fine_tuning_job_id: FineTuningJob.sweep has no instance \"alpah\" "
     "(did you mean 'alpha'?); its keys are \"alpha\", \"beta\""),
    (job("for_each: [a]\n") + "---\nkind: data.FineTuningJobCheckpoints\nname: c\n"
     "spec: {fine_tuning_job_id: '${FineTuningJob.sweep.id}'}\n",
     "s.yaml:14: data.FineTuningJobCheckpoints.c: spec.fine_tuning_job_id: FineTuningJob.sweep has instances (for_each / matrix): "
     "name one, ${FineTuningJob.sweep[\"a\"].id}, or all, ${FineTuningJob.sweep[*].id}"),
    (job("") + "---\nkind: data.FineTuningJobCheckpoints\nname: c\n"
     "spec: {fine_tuning_job_id: '${FineTuningJob.sweep[\"a\"].id}'}\n",
     "s.yaml:13: data.FineTuningJobCheckpoints.c: spec.fine_tuning_job_id: FineTuningJob.sweep has no for_each or matrix: "
     "write ${FineTuningJob.sweep.id}"),
    (job("") + "---\nkind: data.FineTuningJobCheckpoints\nname: c\n"
     "spec: {fine_tuning_job_ids: '${FineTuningJob.sweep[*].id}'}\n",
     "s.yaml:13: data.FineTuningJobCheckpoints.c: spec.fine_tuning_job_ids: ${FineTuningJob.sweep[*].id}: FineTuningJob.sweep "
     "has no for_each or matrix; [*] reads every instance of one"),
    (job("for_each: [a]\n", "  suffix: x-${FineTuningJob.sweep[*].id}\n"),
     "s.yaml:11: FineTuningJob.sweep[\"a\"]: spec.suffix: ${FineTuningJob.sweep[*].id} stands for a list of every instance's "
     "value: give it as the whole value of the field, not inside other text"),
    (job("for_each: [a]\n") + "---\nmoved: {from: 'FineTuningJob.x[\"a\"]', to: 'File.y[\"a\"]'}\n",
     "s.yaml:12: moved.to: moved to undeclared File.y[\"a\"]: declare the new address"),
    (job("for_each: [a, b]\n") + "---\nkind: data.FineTuningJobs\nname: after\n"
     "depends_on: ['FineTuningJob.sweep[\"c\"]']\nspec: {}\n",
     "s.yaml:14: data.FineTuningJobs.after: depends_on[0]: depends on undeclared FineTuningJob.sweep[\"c\"] "
     "(did you mean 'FineTuningJob.sweep[\"b\"]'?)"),
    (job("for_each: [a]\n") + "---\nkind: data.FineTuningJobs\nname: after\n"
     "depends_on: ['FineTuningJob.sweep[a]']\nspec: {}\n",
     "s.yaml:14: data.FineTuningJobs.after: depends_on[0]: 'FineTuningJob.sweep[a]' is not an address like "
     "FineTuningJob.name, FineTuningJob.name[\"key\"] or data.FineTuningJobs.name"),
])
def test_bad_input_is_one_line_with_file_and_line(spec_dir, text: str, expected: str) -> None:
    root = spec_dir({"s.yaml": text, **EXTRA})
    found = [str(e).replace(str(root) + "/", "") for e in collect_specs(root, {}).errors]
    assert found[0] == expected, found
    assert all("\n" not in line for line in found)


def test_the_same_mistake_in_every_instance_is_reported_once(spec_dir) -> None:
    root = spec_dir({"s.yaml": job("for_each: [a, b, c]\n", "  seed: nope\n"), **EXTRA})
    errors = collect_specs(root, {}).errors
    assert len(errors) == 1 and "spec.seed" in str(errors[0])


def test_cli_validate_refuses_in_one_line(spec_dir, tmp_path) -> None:
    import subprocess
    import sys

    root = spec_dir({"s.yaml": job("matrix: {lr: []}\n"), **EXTRA})
    run = subprocess.run([sys.executable, "-m", "reconciler", "validate", "-C", str(root), "--no-color"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "s.yaml:7: FineTuningJob.sweep: matrix.lr: matrix.lr is an empty list" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.parametrize("text, parts", [
    ("FineTuningJob.a", Address("FineTuningJob", "a")),
    ('FineTuningJob.sweep["lr=0.1,epochs=3"]', Address("FineTuningJob", "sweep", "lr=0.1,epochs=3")),
    ('data.FineTuningJobCheckpoints.best["x.y"]', Address("data.FineTuningJobCheckpoints", "best", "x.y")),
    ("FineTuningJob.sweep[*]", None),
    ('FineTuningJob.sweep[""]', None),
    ("nodot", None),
])
def test_address_parsing(text: str, parts: Address | None) -> None:
    assert parse(text) == parts
    if parts is not None:
        assert str(parts) == text and kind_of(text) == parts.kind and base_of(text) == parts.base


def test_expand_bases_selects_every_instance() -> None:
    known = ['FineTuningJob.s["a"]', 'FineTuningJob.s["b"]', "FineTuningJob.t", 'FineTuningJob.st["a"]']
    assert expand_bases(["FineTuningJob.s"], known) == ['FineTuningJob.s["a"]', 'FineTuningJob.s["b"]']
    assert expand_bases(['FineTuningJob.s["b"]', "FineTuningJob.t"], known) == ['FineTuningJob.s["b"]', "FineTuningJob.t"]
    assert expand_bases(["FineTuningJob.zzz"], known) == ["FineTuningJob.zzz"]
