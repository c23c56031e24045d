"""The state store: format (lineage, serial), atomic 0600 writes with a backup, lock, journal."""

from reconciler.state.journal import Journal
from reconciler.state.lock import LockInfo
from reconciler.state.model import FORMAT_VERSION, ResourceState, State, new_state
from reconciler.state.store import StateStore

__all__ = ["FORMAT_VERSION", "Journal", "LockInfo", "ResourceState", "State", "StateStore", "new_state"]
