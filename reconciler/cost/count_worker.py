"""Token counting in a child process (started isolated by cli/cost.py: `python -I`, its `main`) reads a JSON list of
`[path, format, encoding]` on stdin and writes one JSON list of results on stdout, each
`{"count": FileCount}` or `{"error": "cannot read PATH: reason"}`.

Why a child: the tokenizer (bpe-openai's Rust extension) holds its tables for the life of the
process — about 67 MiB of resident memory for o200k_base that is never given back. Counted in the
planning process, it sat under everything an apply builds after it (the first apply of 10,000 jobs
peaked at 225 MiB instead of ~170). Only training files the token cache (cost/cache.py) does not
hold are counted, so most plans start no child at all.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from reconciler.cost.tokens import FileCount, count_in_process

__all__ = ["count_each"]


def count_each(requests: list[Any]) -> list[dict[str, Any]]:
    """count_in_process's answers as JSON: {"count": FileCount} or {"error": line}."""
    return [{"count": found.to_dict()} if isinstance(found, FileCount) else {"error": found}
            for found in count_in_process([tuple(r) for r in requests])]


def main() -> int:
    requests = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    sys.stdout.write(json.dumps(count_each(requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
