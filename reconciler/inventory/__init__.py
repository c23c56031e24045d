"""The fine-tuned models a workspace manages (or the organisation holds), each with its base model,
platform, serving end and who may use it: what `reconciler inventory` shows. Pure: the CLI hands
in the state, the live jobs listing, the end dates and the day it is."""

from reconciler.inventory.gather import Entry, Grant, gather, summary

__all__ = ["Entry", "Grant", "gather", "summary"]
