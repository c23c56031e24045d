"""Drift reports: what differs between the specs, the state and the live API, on two axes —
drift (changed outside reconciler, gone, unmanaged, out of sync) and health (failed, pending)."""

from reconciler.drift.findings import DriftReport, Finding, build_report
from reconciler.drift.ignore import IgnoreRule, IgnoreRules, load_ignore_rules

__all__ = ["DriftReport", "Finding", "IgnoreRule", "IgnoreRules", "build_report", "load_ignore_rules"]
