"""One failing case per constraint of the seeds (and of the spec language): each YAML snippet gives
exactly one error, on the line marked `#<`, whose text contains the expected message."""

from __future__ import annotations

import textwrap

import pytest

JOB = """\
kind: FineTuningJob
name: j
spec:
  model: gpt-4o-mini
  training_file: file-abc
"""
RL = (
    JOB.replace("model: gpt-4o-mini", "model: o4-mini")   # reinforcement trains o4-mini
    + """\
  method:
    type: reinforcement
    reinforcement:
      grader:
"""
)


def job(extra: str) -> str:
    return JOB + textwrap.indent(textwrap.dedent(extra).strip("\n"), "  ") + "\n"


def grader(body: str) -> str:
    return RL + textwrap.indent(textwrap.dedent(body).strip("\n"), "        ") + "\n"


def grader_at(body: str) -> str:
    """A grader whose problem is reported at the `grader:` key (a missing field)."""
    return grader(body).replace("      grader:\n", "      grader:  #<\n", 1)


def meta(n: int) -> str:
    return "metadata:  #<\n" + "".join(f"  k{i}: v\n" for i in range(n))


CASES = [
    # --- FineTuningJob: seed 000 / 002 / openapi CreateFineTuningJobRequest ---
    (
        "model missing",
        "kind: FineTuningJob\nname: j\nspec:  #<\n  training_file: file-abc\n",
        "FineTuningJob.j: spec: missing required field 'model'",
    ),
    (
        "training_file missing",
        "kind: FineTuningJob\nname: j\nspec:  #<\n  model: gpt-4o-mini\n",
        "spec: missing required field 'training_file'",
    ),
    (
        "model wrong type",
        "kind: FineTuningJob\nname: j\nspec:\n  model: [a]  #<\n  training_file: f\n",
        "spec.model: expected a string, got a list",
    ),
    ("unknown field", job("sufix: abc  #<"), "spec: unknown field 'sufix' (did you mean 'suffix'?)"),
    ("suffix too long", job("suffix: " + "x" * 65 + "  #<"), "spec.suffix: longer than 64 characters"),
    ("suffix empty", job("suffix: ''  #<"), "spec.suffix: must not be empty"),
    ("seed negative", job("seed: -1  #<"), "spec.seed: must be at least 0, got -1"),
    ("seed too big", job("seed: 2147483648  #<"), "spec.seed: must be at most 2147483647"),
    (
        "seed not a number",
        job("seed: three  #<"),
        "spec.seed: expected an integer from 0 to 2147483647, got 'three'",
    ),
    ("metadata too many", job(meta(13)), "spec.metadata: has 13 pairs; at most 12 are allowed"),
    ("metadata key too long", job("metadata:  #<\n  " + "k" * 65 + ": v"), "is longer than 64 characters"),
    (
        "metadata value too long",
        job("metadata:\n  team: " + "v" * 513 + "  #<"),
        "spec.metadata.team: longer than 512 characters",
    ),
    (
        "metadata value number",
        job("metadata:\n  version: 2.0  #<"),
        'spec.metadata.version: expected a string, got 2.0 (quote it: "2.0")',
    ),
    (
        "metadata reserved key",
        job("metadata:\n  reconciler_address: x  #<"),
        "spec.metadata.reconciler_address: key 'reconciler_address' is reserved",
    ),
    (
        "integration type",
        job("integrations:\n  - type: slack  #<\n    wandb: {project: p}"),
        "spec.integrations[0].type: must be one of wandb; got 'slack'",
    ),
    (
        "wandb project missing",
        job("integrations:\n  - type: wandb\n    wandb: {name: run}  #<"),
        "spec.integrations[0].wandb: missing required field 'project'",
    ),
    (
        "wandb block missing",
        job("integrations:\n  - type: wandb  #<"),
        "spec.integrations[0]: missing required field 'wandb'",
    ),
    (
        "wandb unknown field",
        job("integrations:\n  - type: wandb\n    wandb:\n      project: p\n      team: t  #<"),
        "spec.integrations[0].wandb: unknown field 'team'",
    ),
    (
        "wandb tags type",
        job("integrations:\n  - type: wandb\n    wandb:\n      project: p\n      tags: a  #<"),
        "spec.integrations[0].wandb.tags: expected a list, got 'a'",
    ),
    (
        "too many integrations",
        job("integrations:  #<\n" + "  - {type: wandb, wandb: {project: p}}\n" * 6),
        "spec.integrations: has 6 items; at most 5 are allowed",
    ),
    (
        "hp batch_size too big",
        job("hyperparameters:\n  batch_size: 257  #<"),
        "spec.hyperparameters.batch_size: must be at most 256, got 257",
    ),
    (
        "hp batch_size word",
        job("hyperparameters:\n  batch_size: three  #<"),
        "spec.hyperparameters.batch_size: expected an integer or \"auto\", got 'three'",
    ),
    (
        "hp n_epochs zero",
        job("hyperparameters:\n  n_epochs: 0  #<"),
        "spec.hyperparameters.n_epochs: must be at least 1",
    ),
    ("hp n_epochs 51", job("hyperparameters:\n  n_epochs: 51  #<"), "must be at most 50, got 51"),
    (
        "hp n_epochs float",
        job("hyperparameters:\n  n_epochs: 2.5  #<"),
        'expected an integer or "auto", got 2.5',
    ),
    (
        "hp lr zero",
        job("hyperparameters:\n  learning_rate_multiplier: 0  #<"),
        "spec.hyperparameters.learning_rate_multiplier: must be greater than 0, got 0",
    ),
    (
        "hp lr word",
        job("hyperparameters:\n  learning_rate_multiplier: fast  #<"),
        "expected a number or \"auto\", got 'fast'",
    ),
    (
        "hp unknown",
        job("hyperparameters:\n  epochs: 3  #<"),
        "unknown field 'epochs' (did you mean 'n_epochs'?)",
    ),
    (
        "hp conflict with method",
        job("""
        hyperparameters: {n_epochs: 3}  #<
        method:
          type: supervised
          supervised: {hyperparameters: {n_epochs: 4}}"""),
        "spec.hyperparameters: conflicts with method.supervised.hyperparameters",
    ),
    (
        "method type missing",
        job("method:  #<\n  supervised: {}"),
        "spec.method: missing required field 'type'",
    ),
    (
        "method type bad",
        job("method:\n  type: sft  #<"),
        "spec.method.type: must be one of supervised, dpo, reinforcement",
    ),
    (
        "method block mismatch",
        job("method:\n  type: dpo\n  supervised:  #<\n    hyperparameters: {n_epochs: 2}"),
        "spec.method.supervised: method.type is dpo but a 'supervised' block is given",
    ),
    (
        "supervised unknown hp",
        job("method:\n  type: supervised\n  supervised:\n    hyperparameters:\n      beta: 0.1  #<"),
        "unknown field 'beta'",
    ),
    (
        "dpo beta zero",
        job("method:\n  type: dpo\n  dpo:\n    hyperparameters:\n      beta: 0  #<"),
        "spec.method.dpo.hyperparameters.beta: must be greater than 0",
    ),
    (
        "dpo beta above 2",
        job("method:\n  type: dpo\n  dpo:\n    hyperparameters:\n      beta: 2.5  #<"),
        "beta: must be at most 2, got 2.5",
    ),
    (
        "dpo beta word",
        job("method:\n  type: dpo\n  dpo:\n    hyperparameters:\n      beta: high  #<"),
        "expected a number or \"auto\", got 'high'",
    ),
    (
        "reinforcement block missing",
        job("method:  #<\n  type: reinforcement").replace("model: gpt-4o-mini", "model: o4-mini"),
        "spec.method: method.type reinforcement needs method.reinforcement with a grader",
    ),
    (
        "reinforcement grader missing",
        job("method:\n  type: reinforcement\n  reinforcement:  #<\n    hyperparameters: {}"),
        "spec.method.reinforcement: missing required field 'grader'",
    ),
    (
        "grader type bad",
        grader("type: regex  #<\nname: g"),
        "grader.type: must be one of string_check, text_similarity, python, score_model, multi; got 'regex'",
    ),
    (
        "grader type missing",
        grader_at("name: g"),
        "spec.method.reinforcement.grader: missing required field 'type'",
    ),
    (
        "label_model not top-level",
        grader("type: label_model  #<\nname: g"),
        "must be one of string_check, text_similarity, python, score_model, multi; got 'label_model'",
    ),
    (
        "string_check operation missing",
        grader_at("type: string_check\nname: g\ninput: a\nreference: b"),
        "spec.method.reinforcement.grader: missing required field 'operation'",
    ),
    (
        "string_check operation bad",
        grader("type: string_check\nname: g\ninput: a\nreference: b\noperation: contains  #<"),
        "grader.operation: must be one of eq, ne, like, ilike",
    ),
    (
        "text_similarity metric bad",
        grader("type: text_similarity\nname: g\ninput: a\nreference: b\nevaluation_metric: rouge_9  #<"),
        "grader.evaluation_metric: must be one of cosine, fuzzy_match, bleu, gleu, meteor, rouge_1",
    ),
    ("python source missing", grader_at("type: python\nname: g"), "grader: missing required field 'source'"),
    (
        "python unknown field",
        grader("type: python\nname: g\nsource: x\nimage: y  #<"),
        "unknown field 'image' (did you mean 'image_tag'?)",
    ),
    (
        "score_model model missing",
        grader_at("type: score_model\nname: g\ninput: [{role: user, content: hi}]"),
        "grader: missing required field 'model'",
    ),
    (
        "score_model range 3",
        grader(
            "type: score_model\nname: g\nmodel: m\ninput: [{role: user, content: hi}]\nrange: [0, 1, 2]  #<"
        ),
        "grader.range: must hold exactly two items, has 3",
    ),
    (
        "score_model range order",
        grader("type: score_model\nname: g\nmodel: m\ninput: [{role: user, content: hi}]\nrange: [1, 0]  #<"),
        "the lower bound must be below the upper one",
    ),
    (
        "score_model role bad",
        grader("type: score_model\nname: g\nmodel: m\ninput:\n  - role: bot  #<\n    content: hi"),
        "grader.input[0].role: must be one of user, assistant, system, developer",
    ),
    (
        "score_model reasoning bad",
        grader(
            "type: score_model\nname: g\nmodel: m\ninput: [{role: user, content: hi}]\n"
            "sampling_params:\n  reasoning_effort: extreme  #<"
        ),
        "reasoning_effort: must be one of none, minimal, low, medium, high, xhigh, max",
    ),
    (
        "multi calculate_output missing",
        grader_at("type: multi\nname: g\ngraders: {type: python, name: p, source: x}"),
        "grader: missing required field 'calculate_output'",
    ),
    (
        "multi sub-grader bad",
        grader("type: multi\nname: g\ncalculate_output: a\ngraders:\n  p:  #<\n    type: python\n    name: p"),
        "grader.graders.p: missing required field 'source'",
    ),
    (
        "multi graders as a list (the API takes a map of named graders)",
        grader("type: multi\nname: g\ncalculate_output: a\ngraders:  #<\n  - {type: python, name: p, source: x}"),
        "grader.graders: expected a grader or a map of named graders",
    ),
    (
        "label_model passing not subset",
        grader("""
        type: multi
        name: g
        calculate_output: label
        graders:
          label:
            type: label_model
            name: label
            model: gpt-4o-2024-08-06
            input: [{role: user, content: "{{item.text}}"}]
            labels: [positive, negative]
            passing_labels: [positive, neutral]  #<"""),
        "grader.graders.label.passing_labels: 'neutral' not in labels; passing_labels must be a subset of labels",
    ),
    (
        "rl hp compute_multiplier",
        job("""
        method:
          type: reinforcement
          reinforcement:
            grader: {type: python, name: p, source: x}
            hyperparameters:
              compute_multiplier: 11  #<"""),
        "compute_multiplier: must be at most 10, got 11",
    ),
    (
        "rl hp compute_multiplier tiny",
        job("""
        method:
          type: reinforcement
          reinforcement:
            grader: {type: python, name: p, source: x}
            hyperparameters:
              compute_multiplier: 0.000001  #<"""),
        "compute_multiplier: must be greater than 1e-05",
    ),
    (
        "rl hp eval_interval",
        job("""
        method:
          type: reinforcement
          reinforcement:
            grader: {type: python, name: p, source: x}
            hyperparameters:
              eval_interval: 0  #<"""),
        "eval_interval: must be at least 1, got 0",
    ),
    (
        "rl hp eval_samples word",
        job("""
        method:
          type: reinforcement
          reinforcement:
            grader: {type: python, name: p, source: x}
            hyperparameters:
              eval_samples: many  #<"""),
        "eval_samples: expected an integer or \"auto\", got 'many'",
    ),
    (
        "rl hp reasoning_effort",
        job("""
        method:
          type: reinforcement
          reinforcement:
            grader: {type: python, name: p, source: x}
            hyperparameters:
              reasoning_effort: extreme  #<"""),
        "reasoning_effort: must be one of default, low, medium, high",
    ),
    # --- cancel_after_timeout (001/003) and status ---
    (
        "timeout zero",
        job("cancel_after_timeout: 0  #<"),
        "spec.cancel_after_timeout: must be at least 1, got 0",
    ),
    (
        "timeout words",
        job("cancel_after_timeout: 2 hours  #<"),
        'spec.cancel_after_timeout: expected a number of seconds or a duration like "2h", "90m", "3600s", got \'2 hours\'',
    ),
    ("status bad", job("status: stopped  #<"), "spec.status: must be one of running, paused; got 'stopped'"),
    ("retired base model", job("").replace("gpt-4o-mini", "curie  #<"), "base model 'curie' was retired"),
    # --- File ---
    (
        "file path missing",
        "kind: File\nname: f\nspec:  #<\n  purpose: fine-tune\n",
        "File.f: spec: missing required field 'path'",
    ),
    (
        "file purpose",
        "kind: File\nname: f\nspec:\n  path: t.jsonl\n  purpose: assistants  #<\n",
        "spec.purpose: must be one of fine-tune; got 'assistants'",
    ),
    (
        "file does not exist",
        "kind: File\nname: f\nspec:\n  path: data/nope.jsonl  #<\n",
        "File.f: spec.path: data/nope.jsonl does not exist",
    ),
    (
        "file outside spec dir",
        "kind: File\nname: f\nspec:\n  path: ../outside.jsonl  #<\n",
        "spec.path: ../outside.jsonl resolves outside the spec folder",
    ),
    (
        "file path is a reference",
        "kind: File\nname: f\nspec:\n  path: ${File.g.path}  #<\n",
        "a local path cannot hold a reference",
    ),
    # --- CheckpointPermission ---
    (
        "perm checkpoint missing",
        "kind: CheckpointPermission\nname: p\nspec:  #<\n  project_ids: [a]\n",
        "spec: missing required field 'fine_tuned_model_checkpoint'",
    ),
    (
        "perm project_ids empty",
        "kind: CheckpointPermission\nname: p\nspec:\n  fine_tuned_model_checkpoint: ft:x\n"
        "  project_ids: []  #<\n",
        "spec.project_ids: must not be empty",
    ),
    (
        "perm project_ids duplicate",
        "kind: CheckpointPermission\nname: p\nspec:\n  fine_tuned_model_checkpoint: ft:x\n"
        "  project_ids: [a, a]  #<\n",
        "spec.project_ids: lists 'a' more than once",
    ),
    (
        "perm project_ids string",
        "kind: CheckpointPermission\nname: p\nspec:\n  fine_tuned_model_checkpoint: ft:x\n"
        "  project_ids: proj_a  #<\n",
        "spec.project_ids: expected a non-empty list of project ids, got 'proj_a'",
    ),
    (
        "perm exclusive",
        "kind: CheckpointPermission\nname: p\nspec:\n  fine_tuned_model_checkpoint: ft:x\n"
        "  project_ids: [a]\n  exclusive: sometimes  #<\n",
        "spec.exclusive: expected true or false",
    ),
    # --- LegacyFineTune (seed 004) ---
    (
        "legacy prompt_loss_weight",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n  training_file: f\n"
        "  prompt_loss_weight: 0.01  #<\n",
        "spec.prompt_loss_weight: prompt_loss_weight is not supported: the legacy fine-tunes API that had it was retired",
    ),
    (
        "legacy classification_n_classes",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n"
        "  training_file: f\n  classification_n_classes: 2  #<\n",
        "classification_n_classes is not supported",
    ),
    (
        "legacy classification_positive_class",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n"
        "  training_file: f\n  classification_positive_class: ' yes'  #<\n",
        "the fine-tuning jobs API has no classification metrics",
    ),
    (
        "legacy classification_betas",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n"
        "  training_file: f\n  classification_betas: ['0.5']  #<\n",
        "classification_betas is not supported",
    ),
    (
        "legacy compute_classification_metrics",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n"
        "  training_file: f\n  compute_classification_metrics: true  #<\n",
        "compute_classification_metrics is not supported",
    ),
    (
        "legacy fine_tune read-only",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n  training_file: f\n"
        "  fine_tune: {id: ft-1}  #<\n",
        "spec.fine_tune: fine_tune is read-only",
    ),
    (
        "legacy old model",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: davinci  #<\n  training_file: f\n",
        "spec.model: base model 'davinci' was retired with the legacy fine-tunes API; use davinci-002",
    ),
    (
        "legacy suffix two",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n  training_file: f\n"
        "  suffix: [a, b]  #<\n",
        "spec.suffix: must hold exactly one item, has 2",
    ),
    (
        "legacy n_epochs",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n  training_file: f\n  n_epochs: 0  #<\n",
        "spec.n_epochs: must be at least 1",
    ),
    (
        "legacy unknown",
        "kind: LegacyFineTune\nname: l\nspec:\n  model: babbage-002\n  training_file: f\n  epochs: 2  #<\n",
        "unknown field 'epochs' (did you mean 'n_epochs'?)",
    ),
    # --- data sources (seed 000) ---
    (
        "data job nothing",
        "kind: data.FineTuningJob\nname: d\nspec: {}  #<\n",
        "data.FineTuningJob.d: spec: give the job's id, or a metadata filter",
    ),
    (
        "data job id and metadata",
        "kind: data.FineTuningJob\nname: d\nspec:\n  id: ftjob-1\n  metadata: {a: b}  #<\n",
        "give only one of id, fine_tuning_job_id (an alias of id) or metadata",
    ),
    (
        "data jobs max_items",
        "kind: data.FineTuningJobs\nname: d\nspec:\n  max_items: 0  #<\n",
        "spec.max_items: must be at least 1",
    ),
    (
        "data jobs metadata value",
        "kind: data.FineTuningJobs\nname: d\nspec:\n  metadata:\n    n: 1  #<\n",
        "spec.metadata.n: expected a string, got 1",
    ),
    (
        "checkpoints job missing",
        "kind: data.FineTuningJobCheckpoints\nname: c\nspec: {max_items: 5}  #<\n",
        "spec: missing required field 'fine_tuning_job_id'",
    ),
    (
        "checkpoints metric bad",
        "kind: data.FineTuningJobCheckpoints\nname: c\nspec:\n  fine_tuning_job_id: ftjob-1\n"
        "  select:\n    lowest: loss  #<\n",
        "spec.select.lowest: must be one of train_loss, valid_loss, full_valid_loss",
    ),
    (
        "checkpoints select bad",
        "kind: data.FineTuningJobCheckpoints\nname: c\nspec:\n  fine_tuning_job_id: ftjob-1\n"
        "  select: {best: true}  #<\n",
        "spec.select: expected one of {lowest: METRIC}, {highest: METRIC}, {step: N}, {latest: true}",
    ),
    (
        "checkpoints step",
        "kind: data.FineTuningJobCheckpoints\nname: c\nspec:\n  fine_tuning_job_id: ftjob-1\n"
        "  select:\n    step: 0  #<\n",
        "spec.select.step: must be at least 1",
    ),
    (
        "permissions order",
        "kind: data.CheckpointPermissions\nname: p\nspec:\n  fine_tuned_model_checkpoint: ft:x\n"
        "  order: newest  #<\n",
        "spec.order: must be one of ascending, descending",
    ),
    # --- documents ---
    (
        "unknown kind",
        "kind: FineTuneJob  #<\nname: x\nspec: {}\n",
        "unknown kind 'FineTuneJob' (did you mean 'FineTuningJob'?)",
    ),
    ("kind missing", "name: x  #<\nspec: {}\n", "missing 'kind' (one of File, FineTuningJob"),
    (
        "not a mapping",
        "- kind: File  #<\n",
        "a document must be a mapping with kind, name and spec; got a list",
    ),
    (
        "name bad",
        "kind: File\nname: my file  #<\nspec: {path: x}\n",
        "name: 'my file' must start with a letter or _",
    ),
    ("name missing", "kind: File  #<\nspec: {path: x}\n", "missing required field 'name'"),
    ("spec missing", "kind: File  #<\nname: f\n", "File.f: missing required field 'spec'"),
    (
        "spec not mapping",
        "kind: File\nname: f\nspec: data.jsonl  #<\n",
        "File.f: spec: expected a mapping, got 'data.jsonl'",
    ),
    (
        "unknown top-level",
        "kind: File\nname: f\nspecs: {path: x}  #<\n",
        "unknown top-level field 'specs' (did you mean 'spec'?)",
    ),
    (
        "lifecycle unknown",
        job("") + "lifecycle:\n  prevent_delete: true  #<\n",
        "lifecycle: unknown field 'prevent_delete' (did you mean 'prevent_destroy'?)",
    ),
    (
        "lifecycle type",
        job("") + "lifecycle:\n  prevent_destroy: 'yes'  #<\n",
        "lifecycle.prevent_destroy: expected true or false, got 'yes'",
    ),
    (
        "ignore_changes path",
        job("") + "lifecycle:\n  ignore_changes:\n    - sufix  #<\n",
        "lifecycle.ignore_changes[0]: 'sufix' is not a field of FineTuningJob spec (did you mean 'suffix'?)",
    ),
    (
        "depends_on malformed",
        job("") + "depends_on:\n  - not an address  #<\n",
        "depends_on[0]: 'not an address' is not an address like FineTuningJob.name",
    ),
    (
        "depends_on undeclared",
        job("") + "depends_on:\n  - File.data  #<\n",
        "depends_on[0]: depends on undeclared File.data",
    ),
    ("duplicate key", job("suffix: a\nsuffix: b  #<"), "duplicate key 'suffix' (first at line 6)"),
    (
        "duplicate address",
        job("") + "---\n" + job("").replace("name: j", "name: j  #<"),
        "FineTuningJob.j: declared twice (first at s.yaml:2)",
    ),
    # --- references and variables ---
    (
        "undeclared reference",
        job("").replace("file-abc", "${File.train.id}  #<"),
        "spec.training_file: reference to undeclared File.train",
    ),
    (
        "bad attribute",
        "kind: File\nname: t\nspec: {path: t.jsonl}\n---\n"
        + job("").replace("file-abc", "${File.t.idd}  #<"),
        "spec.training_file: File has no attribute 'idd' (did you mean 'id'?)",
    ),
    (
        "no attribute",
        "kind: File\nname: t\nspec: {path: t.jsonl}\n---\n" + job("").replace("file-abc", "${File.t}  #<"),
        "${File.t} needs an attribute, e.g. ${File.t.id}",
    ),
    ("reference syntax", job("suffix: v-${version}  #<"), "${version} is not a valid reference"),
    (
        "undefined variable",
        job("suffix: ${var.release}  #<"),
        "spec.suffix: undefined variable 'release': set it with RECONCILER_VAR_release=..., --var release=... or a --var-file",
    ),
    (
        "cycle",
        "kind: File  #<\nname: a\nspec: {path: t.jsonl}\ndepends_on: [FineTuningJob.j]\n---\n"
        + job("").replace("file-abc", "${File.a.id}"),
        "File.a: dependency cycle: File.a → FineTuningJob.j → File.a",
    ),
    (
        "self reference",
        job("suffix: ${FineTuningJob.j.id}")
        .replace("kind: Fine", "kind: Fine", 1)
        .replace("kind: FineTuningJob", "kind: FineTuningJob  #<", 1),
        "dependency cycle: FineTuningJob.j → FineTuningJob.j",
    ),
    # --- import / moved ---
    (
        "import undeclared",
        "import:  #<\n  to: FineTuningJob.x\n  id: ftjob-1\n",
        "import.to: import into undeclared FineTuningJob.x",
    ),
    ("import missing id", "import:  #<\n  to: FineTuningJob.x\n", "import: missing required field 'id'"),
    (
        "import bad address",
        "import:\n  to: job x  #<\n  id: ftjob-1\n",
        "import.to: 'job x' is not an address",
    ),
    (
        "moved from still declared",
        job("")
        + "---\n"
        + job("").replace("name: j", "name: k")
        + "---\nmoved:  #<\n  from: FineTuningJob.j\n  to: FineTuningJob.k\n",
        "moved.from: FineTuningJob.j is still declared",
    ),
    (
        "moved to undeclared",
        "moved:  #<\n  from: FineTuningJob.old\n  to: FineTuningJob.new\n",
        "moved.to: moved to undeclared FineTuningJob.new",
    ),
    # --- YAML itself ---
    ("malformed yaml", "kind: File\nname: f\nspec:\n  path: [a\n  purpose: x  #<\n", "invalid YAML"),
    (
        "python tag",
        "kind: File\nname: f\nspec: !!python/object:os.system {}  #<\n",
        "tag !!python/object:os.system is not allowed",
    ),
    ("custom tag", "kind: File\nname: f\nspec:\n  path: !secret x  #<\n", "tag !secret is not allowed"),
    ("tab indentation", "kind: File\nname: f\nspec:\n\tpath: x  #<\n", "invalid YAML"),
]


@pytest.mark.parametrize("text,expected", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_constraint(problems, text: str, expected: str) -> None:
    text = text if text.endswith("\n") else text + "\n"
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "#<" in row)
    extra = {"t.jsonl": "{}\n"}
    found = problems(text, extra=extra)
    assert len(found) == 1, found
    assert found[0].startswith(f"s.yaml:{line}: "), found
    assert expected in found[0], found
    assert "Traceback" not in found[0]
