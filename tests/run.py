"""The test suite's one entry point, used by the README's test command and by .ci/run:

    python -m tests.run [pytest arguments]      (default: -n auto -q)

The suite needs two things beyond Python: Chromium (the report page is checked in a real headless
browser) and PostgreSQL's server binaries (the pg backend runs against a real, throw-away
cluster). Whatever is missing is installed from the distribution's packages when this runs as root
on a machine with apt-get; otherwise one line says what to install, and the run stops (exit 1)
before pytest starts rather than failing half the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.pgcluster import find_bindir

__all__ = ["main", "missing_packages"]

DEFAULT_ARGS = ["-n", "auto", "-q"]


def missing_packages() -> list[str]:
    """Debian package names of what the suite needs and this machine lacks."""
    missing = []
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        missing.append("chromium")
    if find_bindir() is None:
        missing.append("postgresql")
    return missing


def _install(packages: list[str]) -> str | None:
    """Install with apt-get as root; the reason it cannot, otherwise."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "this machine has no apt-get"
    if os.geteuid() != 0:
        return "installing needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"tests: installing {' '.join(packages)} (apt-get) ...", file=sys.stderr, flush=True)
    subprocess.run([apt, "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([apt, "install", "-y", "-qq", *packages], check=True, env=env, stdout=subprocess.DEVNULL)
    return None


def main(argv: list[str]) -> int:
    missing = missing_packages()
    if missing:
        try:
            why_not = _install(missing)
        except subprocess.CalledProcessError as exc:
            why_not = f"apt-get failed (exit {exc.returncode})"
        if why_not is not None or missing_packages():
            print(f"tests: the suite needs {' and '.join(missing)}, and {why_not or 'they are still missing'}: "
                  f"run `sudo apt-get update && sudo apt-get install -y {' '.join(missing)}` (Debian/Ubuntu), "
                  "then run the tests again.", file=sys.stderr)
            return 1
    return int(pytest.main(argv or DEFAULT_ARGS))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
