"""Counting the training tokens of a large JSONL: throughput and peak memory.

    python -m bench.cost_count [--mb 300] [--keep FILE]

Writes a chat-format JSONL of about --mb megabytes (a fixed system prompt, as real training sets
have, and varied user/assistant turns of random words; seeded), then counts it in a child process
(`reconciler.cost.tokens.count_file`, o200k_base) under bench._measure: wall time, user+sys CPU time
and the child's peak RSS. Targets: < 100 MB peak RSS, >= 20 MB/s. On a shared machine the wall
time carries the other tenants' load; the CPU-time rate is what the code itself costs.
Results: bench/results/cost_count.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

_WORDS = ("the a select from where table join order group by limit row column index query customer invoice total "
         "amount date sum count average per month year region product sales team report null value key primary "
         "foreign schema view update insert delete refund shipped pending weekly daily quarter growth churn")
WORDS = _WORDS.split(" ")
SYSTEM = "You translate questions about the sales warehouse into PostgreSQL. Answer with one query."


def write_jsonl(path: Path, megabytes: int, seed: int = 17) -> int:
    rng = random.Random(seed)

    def sentence(lo: int, hi: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).capitalize() + "."

    target = megabytes * 1024 * 1024
    size = 0
    with path.open("w", encoding="utf-8") as fh:
        while size < target:
            record = {"messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": " ".join(sentence(5, 25) for _ in range(3))},
                {"role": "assistant", "content": " ".join(sentence(8, 30) for _ in range(4))}]}
            line = json.dumps(record) + "\n"
            fh.write(line)
            size += len(line.encode("utf-8"))
    return size


CHILD = ("import sys; from pathlib import Path; from reconciler.cost.tokens import count_file; "
         "c = count_file(Path(sys.argv[1]), 'chat', 'o200k_base'); print(c.examples, c.tokens)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--keep", type=Path, default=None, help="Write the JSONL here and keep it.")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cost_count.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cost-bench-") as tmp:
        data = args.keep or Path(tmp) / "train.jsonl"
        if not data.exists():
            write_jsonl(data, args.mb)
        size = data.stat().st_size
        measured = Path(tmp) / "m.json"
        subprocess.check_call([sys.executable, "-m", "bench._measure", str(measured), "--", sys.executable, "-c",
                               CHILD, str(data)], env={**os.environ})
        m = json.loads(measured.read_text())
        examples, tokens = Path(str(measured) + ".stdout").read_text().split()
    cpu = m["user"] + m["sys"]
    result = {"bytes": size, "examples": int(examples), "tokens": int(tokens), "wall_s": round(m["wall"], 2),
              "cpu_s": round(cpu, 2), "mb_per_s_wall": round(size / 1e6 / m["wall"], 1),
              "mb_per_s_cpu": round(size / 1e6 / cpu, 1), "peak_rss_mb": round(m["rss_kib"] / 1024, 1),
              "rc": m["rc"], "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    ok = result["peak_rss_mb"] < 100 and result["mb_per_s_cpu"] >= 20
    return 0 if ok and m["rc"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
