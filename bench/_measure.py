"""Run one command, report its wall time, peak RSS and exit code as JSON on the last line of stderr.

    python -m bench._measure OUT.json -- CMD ARG...

Wall time is measured here around the child (fork to exit), not including this wrapper's own
start-up; peak RSS is `getrusage(RUSAGE_CHILDREN).ru_maxrss` of this process, whose only child is
CMD, so it is CMD's peak (Linux reports KiB). The child's stdout/stderr go to OUT.stdout/.stderr.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    out, sep, *cmd = argv
    if sep != "--" or not cmd:
        print("usage: python -m bench._measure OUT.json -- CMD ARG...", file=sys.stderr)
        return 64
    with open(out + ".stdout", "wb") as so, open(out + ".stderr", "wb") as se:
        start = time.perf_counter()
        rc = subprocess.call(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss // 1024
    with open(out, "w") as fh:
        json.dump({"wall": wall, "rss_kib": rss_kib, "rc": rc, "user": usage.ru_utime,
                   "sys": usage.ru_stime}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
