"""`reconciler report --html`: a read-only page per workspace (jobs, training curves, checkpoints,
grants, drift and health). gather.py reads, html.py renders (pure), model.py holds the values."""

from reconciler.report.html import render_html
from reconciler.report.model import Checkpoint, FindingRow, Grant, JobReport, Report, Series

__all__ = ["Checkpoint", "FindingRow", "Grant", "JobReport", "Report", "Series", "render_html"]
