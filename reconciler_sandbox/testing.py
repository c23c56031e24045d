"""For tests: `run_sandbox` starts the sandbox in-process on a free port."""

from reconciler_sandbox import SandboxHandle, run_sandbox

__all__ = ["SandboxHandle", "run_sandbox"]
