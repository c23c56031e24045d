"""One module per kind of object; the registry lists them (reconciler/kinds/registry.py)."""
