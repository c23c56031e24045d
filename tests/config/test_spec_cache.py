"""The spec-set cache (reconciler/config/cache.py): a hit only when nothing the load read changed.

Each case loads once (stored), changes one thing the load depends on, loads again and checks both
what the cache did and that the result equals a load without the cache — a stale answer here would
plan against specs the user no longer has."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.config import cache as spec_cache
from reconciler.config.cache import MAX_SLOTS, CacheOutcome
from reconciler.loading import collect_specs

ROOT = Path(__file__).resolve().parents[2]

FILE = "kind: File\nname: train\nspec: {path: data/train.jsonl}\n"
JOB = ("kind: FineTuningJob\nname: {name}\nspec:\n  model: gpt-4o-mini\n  training_file: ${{File.train.id}}\n"
       "  suffix: ${{var.suffix}}\n")
LINE = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'


def _folder(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    (specs / "data").mkdir(parents=True)
    (specs / "data" / "train.jsonl").write_text(LINE * 10)
    (specs / "main.yaml").write_text(FILE + "---\n" + JOB.format(name="bot"))
    return specs


def _load(specs: Path, cache: Path, variables: dict[str, str] | None = None) -> tuple[object, str]:
    outcome = CacheOutcome()
    collected = collect_specs(specs, variables or {"suffix": "a"}, cache, outcome)
    return collected, outcome.status


def _prime(specs: Path, cache: Path, variables: dict[str, str] | None = None) -> None:
    """Two loads: the first notes the folder, the second stores it."""
    assert _load(specs, cache, variables)[1] == "miss (first load); noted (stored from the next load on)"
    assert _load(specs, cache, variables)[1] == "miss (loaded once before); stored"


def _fresh(specs: Path, variables: dict[str, str] | None = None) -> object:
    return collect_specs(specs, variables or {"suffix": "a"})


def test_an_unchanged_folder_is_read_back_and_equals_a_full_load(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    first, status = _load(specs, cache)
    assert status == "miss (first load); noted (stored from the next load on)"
    [slot] = cache.glob("specs-*.pickle")
    assert slot.stat().st_size < 200  # a note, not the spec set
    second, status = _load(specs, cache)
    assert status == "miss (loaded once before); stored"
    third, status = _load(specs, cache)
    assert status == "hit"
    assert third == second == first == _fresh(specs)
    assert second.specset.documents["FineTuningJob.bot"].spec["suffix"] == "a"  # type: ignore[attr-defined]


def _edit(specs: Path) -> None:
    (specs / "main.yaml").write_text(FILE + "---\n" + JOB.format(name="bot").replace("gpt-4o-mini", "gpt-4.1-mini"))


def _touch_same_text(specs: Path) -> None:  # same bytes, new mtime: still a hit (content decides)
    os.utime(specs / "main.yaml", (1, 1))


def _add(specs: Path) -> None:
    (specs / "more.yaml").write_text(JOB.format(name="second"))


def _remove(specs: Path) -> None:
    _add(specs)  # (stored with two files below, then one is removed)


def _rename(specs: Path) -> None:
    (specs / "main.yaml").rename(specs / "renamed.yaml")


CHANGES: list[tuple[str, Callable[[Path], None], str]] = [
    ("edited", _edit, "miss (spec files changed); stored"),
    ("added", _add, "miss (spec files changed); stored"),
    ("renamed", _rename, "miss (spec files changed); stored"),
    ("same bytes, new mtime", _touch_same_text, "hit"),
]


@pytest.mark.parametrize(("what", "change", "expected"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_changed_spec_file_is_a_miss(tmp_path: Path, what: str, change: Callable[[Path], None],
                                       expected: str) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    _prime(specs, cache)
    change(specs)
    collected, status = _load(specs, cache)
    assert status == expected, what
    assert collected == _fresh(specs)


def test_a_removed_spec_file_is_a_miss(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    _add(specs)
    _prime(specs, cache)
    (specs / "more.yaml").unlink()
    collected, status = _load(specs, cache)
    assert status == "miss (spec files changed); stored"
    assert "FineTuningJob.second" not in collected.specset.documents  # type: ignore[attr-defined]


def test_other_variables_never_meet_the_entry(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    _prime(specs, cache, {"suffix": "a"})
    collected, status = _load(specs, cache, {"suffix": "b"})
    assert status == "miss (first load); noted (stored from the next load on)"
    assert collected.specset.documents["FineTuningJob.bot"].spec["suffix"] == "b"  # type: ignore[attr-defined]
    assert _load(specs, cache, {"suffix": "a"})[1] == "hit"  # each has its own slot


def test_a_training_file_deleted_since_is_a_miss_and_reported(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    _prime(specs, cache)
    (specs / "data" / "train.jsonl").unlink()
    collected, status = _load(specs, cache)
    assert status == "miss (a File's path changed on disk); not stored (the specs have errors)"
    assert any("data/train.jsonl does not exist" in e.message for e in collected.errors)  # type: ignore[attr-defined]


def test_a_spec_file_turned_into_a_link_outside_is_a_miss_and_refused(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    _prime(specs, cache)
    outside = tmp_path / "outside.yaml"
    outside.write_text((specs / "main.yaml").read_text())
    (specs / "main.yaml").unlink()
    (specs / "main.yaml").symlink_to(outside)
    collected, status = _load(specs, cache)
    assert status.startswith("miss (a spec file cannot be read or lies outside the folder)")
    assert any("outside the spec folder" in e.message for e in collected.errors)  # type: ignore[attr-defined]


def test_a_load_with_errors_is_not_stored(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    (specs / "bad.yaml").write_text("kind: FineTuningJob\nname: x\nspec: {model: 3}\n")
    for _ in range(2):
        collected, status = _load(specs, cache)
        assert status == "miss (first load); not stored (the specs have errors)"
        assert collected.errors  # type: ignore[attr-defined]
    assert not list(cache.glob("specs-*.pickle"))


def test_new_code_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    _prime(specs, cache)
    monkeypatch.setattr(spec_cache, "_code_fingerprint", "an upgrade")
    assert _load(specs, cache)[1] == "miss (first load); noted (stored from the next load on)"


def test_the_code_fingerprint_changes_when_a_package_file_does(tmp_path: Path) -> None:
    """Run in a copy of the package: editing one module (a checkout being worked on) is new code."""
    copy = tmp_path / "pkg"
    shutil.copytree(ROOT / "reconciler", copy / "reconciler", ignore=shutil.ignore_patterns("__pycache__"))
    probe = ("import reconciler; from reconciler.config.cache import code_fingerprint; "
             "print(reconciler.__file__, code_fingerprint())")
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-S", "-c", probe]  # -S: no site-packages, so no installed reconciler
    before = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert before[0] == str(copy / "reconciler" / "__init__.py")
    target = copy / "reconciler" / "config" / "checks.py"
    target.write_text(target.read_text() + "\n# edited\n")
    after = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert before[1] != after[1]


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", pickle.dumps({"format": 0}), pickle.dumps([1, 2])])
def test_a_corrupt_or_foreign_entry_is_a_miss(tmp_path: Path, garbage: bytes) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    _prime(specs, cache)
    [slot] = cache.glob("specs-*.pickle")
    slot.write_bytes(garbage)
    collected, status = _load(specs, cache)
    assert status == "miss (first load); noted (stored from the next load on)"
    assert collected == _fresh(specs)


def test_an_unwritable_cache_folder_is_not_an_error(tmp_path: Path) -> None:
    specs = _folder(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    collected, status = _load(specs, blocker / "cache")  # a file where the folder would go
    assert status.startswith("miss (first load); not noted (cannot write")
    assert collected == _fresh(specs)


def test_a_file_edited_while_it_loads_is_not_stored(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    outcome = CacheOutcome()

    def collect_then_edit() -> object:
        collected = collect_specs(specs, {"suffix": "a"})
        _edit(specs)
        return collected

    from reconciler.config.spec_files import spec_files

    spec_cache.cached_collect(specs, {"suffix": "a"}, cache, spec_files(specs), collect_then_edit,
                              lambda _c: True, outcome)
    assert outcome.status == "miss (first load); not stored (a spec file changed while it was read)"
    assert not list(cache.glob("specs-*.pickle"))


def test_at_most_max_slots_are_kept(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    for i in range(MAX_SLOTS + 5):
        _load(specs, cache, {"suffix": f"s{i}"})
    assert len(list(cache.glob("specs-*.pickle"))) == MAX_SLOTS


EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/*.yaml") if p.parent.name != "ci")


@pytest.mark.parametrize("folder", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_reads_back_equal(tmp_path: Path, folder: Path) -> None:
    """Settings, policies with compiled CEL rules, providers, conditions, for_each instances."""
    specs = tmp_path / "specs"
    shutil.copytree(folder, specs)
    first, status = _load(specs, tmp_path / "cache", {})
    if first.errors:  # type: ignore[attr-defined]
        pytest.skip("needs variables")
    _, status = _load(specs, tmp_path / "cache", {})
    assert status.endswith("stored"), status
    second, status = _load(specs, tmp_path / "cache", {})
    assert status == "hit"
    assert second == first
    for policy in second.specset.policies:  # type: ignore[attr-defined]
        rule = policy.rule if hasattr(policy, "rule") else None
        if rule is not None:
            assert rule._program is not None  # compiled again from its source


def _cli(specs: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "-C", str(specs), "--debug"],
                          env={**os.environ, **env}, cwd=specs.parent, capture_output=True, text=True, timeout=120)


def test_the_cli_says_what_the_cache_did_and_can_be_turned_off(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cli-cache"
    env = {"RECONCILER_CACHE_DIR": str(cache), "RECONCILER_VAR_suffix": "a"}
    first = _cli(specs, env, "validate")
    assert first.returncode == 0, first.stderr
    assert "spec cache: miss (first load); noted (stored from the next load on)" in first.stderr
    second = _cli(specs, env, "validate")
    assert "spec cache: miss (loaded once before); stored" in second.stderr
    again = _cli(specs, env, "validate")
    assert "spec cache: hit" in again.stderr and again.stdout == second.stdout == first.stdout
    _edit(specs)
    third = _cli(specs, env, "validate")
    assert "spec cache: miss (spec files changed); stored" in third.stderr

    off = tmp_path / "off-cache"
    for value in ("off", ""):
        proc = _cli(specs, {**env, "RECONCILER_CACHE_DIR": value, "XDG_CACHE_HOME": str(off)}, "validate")
        assert proc.returncode == 0 and "spec cache: off" in proc.stderr, proc.stderr
    assert not off.exists()

    xdg = tmp_path / "xdg"
    environ = {k: v for k, v in env.items() if k != "RECONCILER_CACHE_DIR"}
    proc = subprocess.run([sys.executable, "-m", "reconciler", "validate", "-C", str(specs)], cwd=tmp_path,
                          env={**{k: v for k, v in os.environ.items() if k != "RECONCILER_CACHE_DIR"},
                               **environ, "XDG_CACHE_HOME": str(xdg)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert list((xdg / "reconciler").glob("specs-*.pickle"))  # $XDG_CACHE_HOME/reconciler by default


class _Planted:
    """Unpickles as a call of os.system: what an entry planted in a shared cache folder would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_entry_cannot_run_code(tmp_path: Path) -> None:
    specs, cache = _folder(tmp_path), tmp_path / "cache"
    _prime(specs, cache)
    stored, _ = _load(specs, cache)
    [slot] = cache.glob("specs-*.pickle")
    entry = pickle.loads(slot.read_bytes())
    marker = tmp_path / "ran"
    entry["collected"] = _Planted(marker)  # the right files, so only the unpickler stands in the way
    slot.write_bytes(pickle.dumps(entry))
    collected, status = _load(specs, cache)
    assert not marker.exists()
    assert status == "miss (first load); noted (stored from the next load on)"
    assert collected == stored


def test_the_code_fingerprint_covers_the_parsing_and_validating_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new PyYAML, jsonschema, fastjsonschema or cel-python may read a spec differently: where
    each lives (and its main file's size and mtime) is part of the key, found without importing it."""
    import importlib.util

    monkeypatch.setattr(spec_cache, "_code_fingerprint", None)
    before = spec_cache.code_fingerprint()
    real = importlib.util.find_spec

    def moved(name: str, *args: object) -> object:
        found = real(name, *args)  # type: ignore[arg-type]
        if name == "jsonschema" and found is not None:
            found = importlib.util.spec_from_file_location(name, found.origin + ".upgraded")  # type: ignore[operator]
        return found

    monkeypatch.setattr(importlib.util, "find_spec", moved)
    monkeypatch.setattr(spec_cache, "_code_fingerprint", None)
    assert spec_cache.code_fingerprint() != before
    assert set(spec_cache._DEPENDENCIES) == {"yaml", "jsonschema", "fastjsonschema", "celpy"}
