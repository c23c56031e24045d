"""Training cost: exact token counts (tokens.py), `"auto"` epochs (epochs.py), prices as data
(pricing.py, prices.json), the per-job and plan estimates (estimate.py, pure) and the one step that
reads training files for them (files.py, cached by content hash in cache.py)."""
