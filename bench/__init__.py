"""Scale benchmark for reconciler (see bench/run.py and BENCHMARKS.md)."""
