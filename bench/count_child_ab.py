"""A/B, interleaved: a plan of the shipped specs/ with an empty token cache (every training file
counted) on two source trees, e.g. before and after token counting moved to a child process.

    git worktree add /tmp/ab-old bed707b~1; git worktree add /tmp/ab-new HEAD
    python bench/count_child_ab.py

Wall and peak RSS from bench/_measure.py (RUSAGE_CHILDREN: the largest process of the command,
the counting child included). Six pairs, the order swapped every pair; the median of new/old.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

trees = {"old": "/tmp/ab-old", "new": "/tmp/ab-new"}
rows = []
for i in range(6):
    order = ["old", "new"] if i % 2 == 0 else ["new", "old"]
    row = {}
    for side in order:
        tmp = tempfile.mkdtemp()
        env = {**os.environ, "PYTHONPATH": trees[side], "RECONCILER_CACHE_DIR": "off", "NO_COLOR": "1"}
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "/work/main/bench/_measure.py", tmp + "/m.json", "--", sys.executable, "-m", "reconciler",
                              "-C", "/work/main/specs", "plan", "--sandbox", "--state", tmp + "/s.json"], env=env, check=True)
        m = json.load(open(tmp + "/m.json")); assert m["rc"] == 0, open(tmp + "/m.json.stderr").read()
        assert "estimated cost" in open(tmp + "/m.json.stdout").read()
        row[side] = m
    rows.append(row)
    print(f"pair {i+1}: old {row['old']['wall']:.2f}s {row['old']['rss_kib']/1024:.0f}MiB  new {row['new']['wall']:.2f}s {row['new']['rss_kib']/1024:.0f}MiB  ratio {row['new']['wall']/row['old']['wall']:.2f}", flush=True)
r = [x["new"]["wall"] / x["old"]["wall"] for x in rows]
print("median new/old wall", round(statistics.median(r), 3), "min", round(min(r), 3), "max", round(max(r), 3))
print("median rss old/new MiB", statistics.median(x["old"]["rss_kib"]/1024 for x in rows), statistics.median(x["new"]["rss_kib"]/1024 for x in rows))
