"""A cache of the loaded spec set: a clean load of an unchanged folder is read back, not redone.

Loading 2,001 documents parses YAML with positions, substitutes variables, validates every
document against its kind's schema and checks references across them: about a second of CPU,
paid again by every `validate`, `plan` and `drift` although the files rarely change between two
runs. The result of a load without errors is kept in one file per spec folder (a *slot*) and
used again only when everything the load read is unchanged:

- the slot's name hashes the folder as given and resolved, the working directory, the variables,
  the Python version and the code (reconciler's version and every file of the package: size and
  mtime; the YAML, JSON Schema and CEL libraries' main files), so another folder, another `--var`
  or an upgrade never meet this entry;
- the first load of a folder only notes the slot (storing costs about a fifth of a load, which a
  fresh CI runner would pay on every run and never read back); the next one stores the result;
- inside, the list of spec files and the sha256 of each one's bytes must match what is on disk
  now (a file added, removed, renamed or edited is a miss), every spec file must still resolve
  inside the folder, and every File's `path` is checked again as the loader checks it (a training
  file deleted since is a miss, and the full load reports it).

A load with errors is never stored (its messages come from a full pass). A miss, an unreadable
or corrupt entry, or a result that cannot be stored are never errors: the load simply runs. The
entries are pickles read by an unpickler that builds only the spec set's own classes (_ALLOWED), so
a planted entry cannot run code. The CLI keeps them in `$RECONCILER_CACHE_DIR`, else
`$XDG_CACHE_HOME/reconciler`, else `~/.cache/reconciler` (like pip or black); at most MAX_SLOTS
entries are kept, the least recently used go first.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import reconciler
from reconciler.bounded import MAX_SPEC_FILE_BYTES, RefusedFile, read_regular

__all__ = ["MAX_SLOTS", "CacheOutcome", "cached_collect"]

FORMAT = 1
MAX_SLOTS = 64
_PREFIX = "specs-"


@dataclass
class CacheOutcome:
    """What the cache did, for `--debug`: "hit", "miss (...)", "stored", "not stored (...)"."""

    status: str = "off"


_code_fingerprint: str | None = None
# What parses and validates besides our code: a new version of one may read a spec differently.
_DEPENDENCIES = ("yaml", "jsonschema", "fastjsonschema", "celpy")


def code_fingerprint() -> str:
    """reconciler's version and the size and mtime of every file of the package (a checkout being
    edited, or an upgrade, is new code), and where the YAML, JSON Schema and CEL libraries live
    with their files' size and mtime."""
    global _code_fingerprint
    if _code_fingerprint is None:
        root = Path(reconciler.__file__).parent
        digest = hashlib.sha256(f"{reconciler.__version__}\0{sys.version}\0{FORMAT}".encode())
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                path = os.path.join(folder, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(path, root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        for module in _DEPENDENCIES:  # an upgrade rewrites the package's files (not imported here)
            found = importlib.util.find_spec(module)
            origin = found.origin if found is not None else None
            try:
                found_st = os.stat(origin) if origin else None
            except OSError:
                found_st = None
            size, mtime = (found_st.st_size, found_st.st_mtime_ns) if found_st is not None else (None, None)
            digest.update(f"{module}\0{origin}\0{size}\0{mtime}\n".encode())
        _code_fingerprint = digest.hexdigest()
    return _code_fingerprint


def _slot(cache_dir: Path, spec_dir: Path, variables: Mapping[str, Any]) -> Path:
    try:
        resolved = str(spec_dir.resolve())
        cwd = os.getcwd()
    except (OSError, RuntimeError):  # e.g. the working folder was deleted under us
        resolved, cwd = "", ""
    key = json.dumps(
        [code_fingerprint(), str(spec_dir), resolved, cwd,
         sorted((str(k), repr(v)) for k, v in variables.items())],
        sort_keys=True,
    )
    return cache_dir / f"{_PREFIX}{hashlib.sha256(key.encode()).hexdigest()[:40]}.pickle"


def _fingerprints(spec_dir: Path, files: list[Path]) -> list[tuple[str, str]] | None:
    """(path, sha256) of every spec file, or None when one no longer resolves inside the folder
    or cannot be read (the full load reports it)."""
    root = spec_dir.resolve()
    out = []
    for path in files:
        try:
            if not path.resolve(strict=True).is_relative_to(root):
                return None
            out.append((str(path), hashlib.sha256(read_regular(path, MAX_SPEC_FILE_BYTES)).hexdigest()))
        except (OSError, RuntimeError, RefusedFile):
            return None
    return out


# What a stored spec set is made of. Reading builds nothing else: a pickle naming any other callable
# (os.system, subprocess, any function of reconciler's) is refused as a miss, so an entry planted
# in the cache folder cannot run code, only describe a spec set - whose spec files must still hash
# to what is on disk before it is used.
_ALLOWED = frozenset({
    ("reconciler.loading.loader", "Collected"),
    ("reconciler.config.documents", "Document"), ("reconciler.config.documents", "ImportBlock"),
    ("reconciler.config.documents", "Lifecycle"), ("reconciler.config.documents", "MovedBlock"),
    ("reconciler.config.documents", "Positions"), ("reconciler.config.documents", "SpecSet"),
    ("reconciler.config.settings", "Settings"), ("reconciler.config.settings", "BackendSettings"),
    ("reconciler.config.settings", "Limits"), ("reconciler.config.upload_settings", "UploadSettings"),
    ("reconciler.config.providers", "Provider"),
    ("reconciler.config.budgets", "Budgets"), ("reconciler.config.policies", "Policy"),
    ("reconciler.kinds.evaluation.document", "Evaluation"),
    ("reconciler.lifecycle.data", "LifecycleSettings"),
    ("reconciler.expr.compile", "Where"), ("reconciler.expr.compile", "_recompiled"),
    ("reconciler.expr.conditions", "Condition"),
    ("reconciler.errors", "SpecError"),
    ("array", "array"), ("array", "_array_reconstructor"), ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"),
})


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a spec set")
        return super().find_class(module, name)


def _read(slot: Path) -> dict[str, Any] | None:
    try:
        with open(slot, "rb") as fh:
            entry = _Unpickler(fh).load()
    except Exception:  # missing, truncated, written by other code: a miss, never an error
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        return None
    return entry


def _write(cache_dir: Path, slot: Path, entry: dict[str, Any]) -> str | None:
    """Store atomically (a reader never sees half a file); the reason when it could not be."""
    try:
        data = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # e.g. a compiled expression that does not pickle
        return f"the result does not pickle ({type(exc).__name__})"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, slot)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        return f"cannot write {cache_dir}: {exc.strerror or exc}"
    _prune(cache_dir)
    return None


def _prune(cache_dir: Path) -> None:
    try:
        slots = sorted(cache_dir.glob(f"{_PREFIX}*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in slots[:-MAX_SLOTS]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def cached_collect(
    spec_dir: Path,
    variables: Mapping[str, Any],
    cache_dir: Path,
    files: list[Path],
    collect: Callable[[], Any],
    paths_ok: Callable[[Any], bool],
    outcome: CacheOutcome | None = None,
) -> Any:
    """`collect()`'s result, from the cache when nothing it read has changed.

    `files` are the spec files the load reads; `paths_ok(collected)` re-checks what the load checked
    on disk beside them (every File's path) and says whether that still holds."""
    outcome = outcome if outcome is not None else CacheOutcome()
    slot = _slot(cache_dir, spec_dir, variables)
    fingerprints = _fingerprints(spec_dir, files)
    if fingerprints is None:
        outcome.status = "miss (a spec file cannot be read or lies outside the folder)"
        return collect()
    entry = _read(slot)
    if entry is not None and entry.get("files") == fingerprints:
        collected = entry["collected"]
        if paths_ok(collected):
            outcome.status = "hit"
            try:
                os.utime(slot)  # least recently used goes first
            except OSError:
                pass
            return collected
        outcome.status = "miss (a File's path changed on disk)"
    elif entry is None:
        outcome.status = "miss (first load)"
    else:
        outcome.status = "miss (loaded once before)" if entry.get("files") is None else "miss (spec files changed)"
    collected = collect()
    if collected.errors:
        outcome.status += "; not stored (the specs have errors)"
        return collected
    if _fingerprints(spec_dir, files) != fingerprints:  # edited while it loaded: which text won?
        outcome.status += "; not stored (a spec file changed while it was read)"
        return collected
    if entry is None:
        # The first load of this folder here only notes it: storing costs a fifth of a load, and
        # a fresh CI runner (an empty cache, every run) would pay that and never read it back.
        problem = _write(cache_dir, slot, {"format": FORMAT, "files": None})
        outcome.status += f"; not noted ({problem})" if problem else "; noted (stored from the next load on)"
        return collected
    problem = _write(cache_dir, slot, {"format": FORMAT, "files": fingerprints, "collected": collected})
    outcome.status += f"; not stored ({problem})" if problem else "; stored"
    return collected
