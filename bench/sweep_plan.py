"""A matrix of N instances plans as fast as N literal documents, interleaved.

    python -m bench.sweep_plan                  # N = 1,000 (10 x 10 x 10), 6 pairs
    python -m bench.sweep_plan --pairs 3

Writes two spec folders that declare the same N fine-tuning jobs (and one File): one as N literal
documents, one as a single FineTuningJob document with `matrix: {lr: [10], epochs: [10], seed:
[10]}`. Runs `plan --no-refresh` (every job to create; no server is asked: the state is empty)
alternately on both, A B / B A, each a fresh process, and reports the median of the per-pair
ratios matrix / literal (target <= 1.1). Figures go to stdout and bench/results/sweep_plan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench.run import measure, reconciler_cmd

RESULTS = Path(__file__).with_name("results") / "sweep_plan.json"
LRS = [round(0.1 * (i + 1), 1) for i in range(10)]
EPOCHS = list(range(1, 11))
SEEDS = list(range(10))
RECORD = json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
HEAD = "kind: File\nname: train\nspec: {path: train.jsonl}\n"
JOB = """---
kind: FineTuningJob
name: {name}
{extra}spec:
  model: gpt-4o-mini-2024-07-18
  training_file: ${{File.train.id}}
  seed: {seed}
  method: {{type: supervised, supervised: {{hyperparameters: {{learning_rate_multiplier: {lr}, n_epochs: {epochs}}}}}}}
"""


def write_folders(root: Path) -> tuple[Path, Path]:
    literal, matrix = root / "literal", root / "matrix"
    for folder in (literal, matrix):
        folder.mkdir(parents=True)
        (folder / "train.jsonl").write_text((RECORD + "\n") * 10)
    docs = [HEAD]
    for lr in LRS:
        for epochs in EPOCHS:
            for seed in SEEDS:
                name = f"j_{str(lr).replace('.', '_')}_{epochs}_{seed}"
                docs.append(JOB.format(name=name, extra="", seed=seed, lr=lr, epochs=epochs))
    (literal / "specs.yaml").write_text("".join(docs))
    extra = f"matrix: {{lr: {LRS}, epochs: {EPOCHS}, seed: {SEEDS}}}\n"
    (matrix / "specs.yaml").write_text(HEAD + JOB.format(
        name="sweep", extra=extra, seed="${each.value.seed}", lr='"${each.value.lr}"',
        epochs='"${each.value.epochs}"'))
    return literal, matrix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=6)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="reconciler-bench-sweep-"))
    literal, matrix = write_folders(scratch)
    rc = reconciler_cmd()
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "NO_COLOR": "1"}
    for key in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "RECONCILER_STATE", "RECONCILER_WORKSPACE"):
        env.pop(key, None)

    def plan(folder: Path) -> float:
        return measure([*rc, "-C", str(folder), "--state", str(scratch / f"{folder.name}.json"), "plan",
                        "--no-refresh", "--no-color"], cwd=scratch, env=env, scratch=scratch,
                       label=f"plan {folder.name}").wall

    plan(literal)  # warm-up (page cache, bytecode)
    plan(matrix)
    pairs = []
    for i in range(args.pairs):
        if i % 2 == 0:
            a = plan(literal)
            b = plan(matrix)
        else:
            b = plan(matrix)
            a = plan(literal)
        pairs.append({"literal": round(a, 3), "matrix": round(b, 3), "ratio": round(b / a, 3)})
        print(f"pair {i + 1}: literal {a:.2f} s, matrix {b:.2f} s, ratio {b / a:.3f}", file=sys.stderr)
    median = statistics.median(p["ratio"] for p in pairs)
    result = {"n": len(LRS) * len(EPOCHS) * len(SEEDS), "pairs": pairs, "median_ratio": round(median, 3),
              "target": 1.1, "met": median <= 1.1, "load": os.getloadavg()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
