"""Hostile and broken input, through the real CLI where it matters:

- YAML tags that construct objects are refused (and nothing runs);
- alias bombs, very deep nesting and very large documents are refused within bounded time and
  peak RSS (measured on the `reconciler validate` subprocess with wait4);
- a File path outside the spec folder (../../etc/passwd, an absolute path, a symlinked file or
  folder pointing out) is refused by validate and plan unless allow_outside_spec_dir: true;
- a training JSONL of tens (default) / hundreds (slow) of MB is validated streaming in bounded
  memory, including a broken one that is a single huge line;
- fuzz: random mutations of valid spec text through load_specs, random journals beside a valid
  state through StateStore.load: only SpecErrors / StateError, never a traceback
  (RECONCILER_RELIABILITY_FUZZ examples, default 300; 3000 under -m slow).

The loader-level YAML checks and the state-file fuzz live in tests/config/test_yaml_safety.py,
tests/config/test_fuzz.py and tests/state/test_state_fuzz.py; see RELIABILITY.md."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import chat_jsonl, report

EXAMPLES = int(os.environ.get("RECONCILER_RELIABILITY_FUZZ", "300"))
MB = 1024 * 1024


# Runs the CLI and writes its own peak RSS (VmHWM: per address space, so not inherited from the
# forking pytest process the way getrusage's ru_maxrss is) to $PEAK_RSS_FILE at exit.
PEAK_RSS_CLI = """\
import atexit, os, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(os.environ["PEAK_RSS_FILE"], "w").write(line.split()[1])
atexit.register(peak)
from reconciler.cli import main
sys.argv = ["reconciler"] + sys.argv[1:]
main()
"""


def validate(spec_dir: Path, *args: str, cwd: Path | None = None) -> tuple[int, str, float, float]:
    """(exit code, output, seconds, peak RSS in MB) of `reconciler validate -C spec_dir`."""
    peak_file = Path(tempfile.mkstemp(prefix="peak-rss-")[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_"))}
    env["PEAK_RSS_FILE"] = str(peak_file)
    with tempfile.TemporaryFile(mode="w+") as out:
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", PEAK_RSS_CLI, "validate", "-C", str(spec_dir), *args],
                              check=False, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=cwd or spec_dir.parent,
                              env=env)
        seconds = time.monotonic() - start
        out.seek(0)
        output = out.read()
    text = peak_file.read_text().strip()
    peak_file.unlink()
    return proc.returncode, output, seconds, (int(text) / 1024 if text else float("nan"))


def _baseline_rss(tmp: Path) -> float:
    specs = tmp / "baseline" / "specs"
    (specs / "data").mkdir(parents=True)
    (specs / "data" / "t.jsonl").write_text(chat_jsonl())
    (specs / "f.yaml").write_text("kind: File\nname: t\nspec: {path: data/t.jsonl}\n")
    code, output, _, rss = validate(specs)
    assert code == 0, output
    return rss


# -- YAML that constructs objects ---------------------------------------------------------------
@pytest.mark.parametrize("payload", [
    "kind: !!python/object/apply:os.system ['touch {marker}']\nname: x\nspec: {{}}\n",
    "kind: File\nname: x\nspec: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n",
    "kind: File\nname: !!python/name:os.system\nspec: {{path: a}}\n",
    "kind: File\nname: x\nspec: !!python/object:argparse.Namespace {{path: '{marker}'}}\n",
    "!!python/object/apply:subprocess.check_output [['touch', '{marker}']]\n",
    "kind: File\nname: x\nspec: !custom {{path: a}}\n",
])
def test_object_constructing_tags_are_refused(tmp_path, payload):
    marker = tmp_path / "pwned"
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "evil.yaml").write_text(payload.format(marker=marker))
    code, output, _, _ = validate(specs)
    assert code == 1 and "Traceback" not in output, output
    # the one error is the refused tag itself (not some other complaint that happens to say "tag")
    assert re.search(r"evil\.yaml:\d+: tag !\S+ is not allowed\n1 error in 1 file\.", output), output
    assert not marker.exists(), "a YAML tag ran code"


# -- alias bombs, nesting, size --------------------------------------------------------------------
BOMB = "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + BOMB


def _big_valid_document(target_bytes: int) -> str:
    """One File document whose spec carries a long list of strings in a field the schema rejects
    (so the size is parsed, then refused by validation) - here via many comment-free list items."""
    item = "x" * 60
    n = target_bytes // (len(item) + 5)
    return "kind: File\nname: big\nspec:\n  path: data/t.jsonl\n  tags:\n" + f"    - {item}\n" * n


# what each case must be refused for (many_documents is valid: 5000 small documents are fine)
BOMB_REASON = {
    "billion_laughs": "document expands to more than 10000 values",
    "quadratic_blowup": "document expands to more than 10000 values",
    "deep_nesting": "invalid YAML: nested too deeply",
    "over_10MB": "spec files are limited to 10 MB",
    "just_under_10MB": "document expands to more than 10000 values",   # under the size limit: parsed, then refused
    "many_documents": "Success! 5000 documents in 1 file are valid.",
}


@pytest.mark.parametrize("case", ["billion_laughs", "quadratic_blowup", "deep_nesting", "over_10MB", "just_under_10MB",
                                  "many_documents"])
def test_bombs_and_huge_documents_are_bounded(tmp_path, case):
    specs = tmp_path / "specs"
    (specs / "data").mkdir(parents=True)
    (specs / "data" / "t.jsonl").write_text(chat_jsonl())
    if case == "billion_laughs":
        text = BOMB
    elif case == "quadratic_blowup":   # one 100 kB string referenced 10,000 times
        text = "a: &a '" + "x" * 100_000 + "'\nb: [" + ", ".join(["*a"] * 9_999) + "]\n"
    elif case == "deep_nesting":
        text = "a: " + "[" * 50_000 + "]" * 50_000 + "\n"
    elif case == "over_10MB":
        text = _big_valid_document(11 * MB)
    elif case == "just_under_10MB":
        text = _big_valid_document(9 * MB)
    else:
        text = "".join(f"---\nkind: File\nname: f{i}\nspec: {{path: data/t.jsonl}}\n" for i in range(5000))
    (specs / "x.yaml").write_text(text)
    code, output, seconds, rss = validate(specs)
    assert "Traceback" not in output, output[-2000:]
    assert code == (0 if case == "many_documents" else 1), output[-2000:]
    assert BOMB_REASON[case] in output, output[-2000:]
    if case == "just_under_10MB":
        assert "limited to 10 MB" not in output, output[-2000:]
    report(f"yaml_{case}", {"input_MB": round(len(text) / MB, 2), "exit": code, "seconds": round(seconds, 2),
                            "peak_rss_MB": round(rss)})
    assert seconds < 30, seconds
    assert rss < 400, rss


# -- File paths outside the spec folder ----------------------------------------------------------
def _outside_setup(tmp: Path) -> tuple[Path, Path]:
    specs = tmp / "project" / "specs"
    (specs / "data").mkdir(parents=True)
    outside = tmp / "elsewhere"
    outside.mkdir()
    (outside / "train.jsonl").write_text(chat_jsonl())
    (specs / "data" / "linked.jsonl").symlink_to(outside / "train.jsonl")
    (specs / "linkdir").symlink_to(outside, target_is_directory=True)
    return specs, outside


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "../../elsewhere/train.jsonl",
                                  "data/linked.jsonl", "linkdir/train.jsonl", "data/../../../elsewhere/train.jsonl"])
def test_file_path_outside_the_spec_folder_is_refused(tmp_path, path):
    specs, _outside = _outside_setup(tmp_path)
    (specs / "f.yaml").write_text(f"kind: File\nname: f\nspec: {{path: '{path}'}}\n")
    code, output, _, _ = validate(specs)
    assert code == 1 and "outside the spec folder" in output and "allow_outside_spec_dir" in output, output
    assert "root:" not in output   # nothing of /etc/passwd is shown
    # plan refuses before any API call (the base URL is unreachable on purpose)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_"))}
    env.update(OPENAI_API_KEY="sk-proj-test-000000000000", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    plan = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-C", str(specs), "--state",
                           str(tmp_path / "state.json")], check=False, capture_output=True, text=True, env=env, timeout=60)
    assert plan.returncode == 1 and "outside the spec folder" in plan.stderr, plan.stderr
    assert "retrying" not in plan.stderr


@pytest.mark.parametrize("path", ["../../elsewhere/train.jsonl", "data/linked.jsonl", "linkdir/train.jsonl"])
def test_outside_path_is_accepted_when_explicitly_allowed(tmp_path, path):
    specs, _ = _outside_setup(tmp_path)
    (specs / "f.yaml").write_text(f"kind: File\nname: f\nspec: {{path: '{path}', allow_outside_spec_dir: true}}\n")
    code, output, _, _ = validate(specs)
    assert code == 0, output


def test_inside_symlink_is_fine(tmp_path):
    specs = tmp_path / "specs"
    (specs / "data").mkdir(parents=True)
    (specs / "data" / "real.jsonl").write_text(chat_jsonl())
    (specs / "data" / "alias.jsonl").symlink_to(specs / "data" / "real.jsonl")
    (specs / "f.yaml").write_text("kind: File\nname: f\nspec: {path: data/alias.jsonl}\n")
    code, output, _, _ = validate(specs)
    assert code == 0, output


# -- big training files ------------------------------------------------------------------------------
def _write_jsonl(path: Path, size_mb: int) -> int:
    line = json.dumps({"messages": [{"role": "system", "content": "You are terse."},
                                    {"role": "user", "content": "What is the capital of France? " * 3},
                                    {"role": "assistant", "content": "Paris. " * 8}]}) + "\n"
    block = line * (MB // len(line))
    lines = 0
    with open(path, "w") as fh:
        for _ in range(size_mb):
            fh.write(block)
            lines += MB // len(line)
    return lines


def _big_jsonl(tmp: Path, size_mb: int, *, one_line: bool = False, bad_tail: bool = False) -> dict:
    specs = tmp / f"big{size_mb}{'-oneline' if one_line else ''}{'-badtail' if bad_tail else ''}" / "specs"
    (specs / "data").mkdir(parents=True)
    path = specs / "data" / "train.jsonl"
    if one_line:   # broken: a whole file without a newline (e.g. a minified JSON array)
        with open(path, "w") as fh:
            fh.write('[{"messages": [')
            chunk = '{"role": "user", "content": "' + "y" * 1000 + '"}, '
            fh.writelines(chunk for _ in range(size_mb * MB // len(chunk)))
            fh.write("{}]}]")
        lines = 1
    else:
        lines = _write_jsonl(path, size_mb)
        if bad_tail:
            with open(path, "a") as fh:
                fh.write('{"messages": [{"role": "user", "content": "no answer"}]}\n')
    (specs / "f.yaml").write_text("kind: File\nname: train\nspec: {path: data/train.jsonl}\n")
    code, output, seconds, rss = validate(specs)
    size = path.stat().st_size
    path.unlink()
    return {"file_MB": round(size / MB), "lines": lines, "exit": code, "seconds": round(seconds, 1),
            "peak_rss_MB": round(rss), "output": output[-500:]}


def _check_big(tmp: Path, size_mb: int, name: str) -> None:
    baseline = _baseline_rss(tmp)
    good = _big_jsonl(tmp, size_mb)
    assert good["exit"] == 0, good
    bad = _big_jsonl(tmp, size_mb, bad_tail=True)
    assert bad["exit"] == 1 and f"line {bad['lines'] + 1}" in bad["output"], bad
    huge_line = _big_jsonl(tmp, max(size_mb, 60), one_line=True)   # over the 32 MB line limit
    assert huge_line["exit"] == 1 and "line 1: longer than 32 MB" in huge_line["output"], huge_line
    report(name, {"baseline_rss_MB": round(baseline), "valid": {k: v for k, v in good.items() if k != "output"},
                  "bad_last_line": {k: v for k, v in bad.items() if k != "output"},
                  "single_line": {k: v for k, v in huge_line.items() if k != "output"}})
    # bounded, independent of the file size: a few MB for line-by-line files; for a file that is
    # one huge line, at most the 32 MB line limit read in one go (x2 while the buffer is joined)
    for run in (good, bad):
        assert run["peak_rss_MB"] - baseline < 30, (run, baseline)
    assert huge_line["peak_rss_MB"] - baseline < 2 * 32 + 20, (huge_line, baseline)


def test_bounded_lines_keeps_line_numbers():
    import io

    from reconciler.training_data import _TOO_LONG, _bounded_lines

    data = b"abc\n" + b"x" * 10 + b"\n" + b"y" * 11 + b"\n" + b"z" * 25 + b"\nlast"
    got = list(_bounded_lines(io.BufferedReader(io.BytesIO(data), buffer_size=4), limit=10))
    assert got == [b"abc\n", b"x" * 10 + b"\n", _TOO_LONG, _TOO_LONG, b"last"]


def test_large_training_jsonl_is_validated_in_bounded_memory(tmp_path):
    _check_big(tmp_path, 30, "jsonl_30MB")


@pytest.mark.slow
def test_300MB_training_jsonl_is_validated_in_bounded_memory(tmp_path):
    _check_big(tmp_path, 300, "jsonl_300MB")


# -- fuzz ------------------------------------------------------------------------------------------
VALID = textwrap.dedent("""\
    kind: File
    name: train
    spec: {path: data/t.jsonl}
    ---
    kind: FineTuningJob
    name: bot
    spec:
      model: gpt-4o-mini
      training_file: ${File.train.id}
      suffix: &s bot-v1
      metadata: {<<: {team: support}, env: prod, alias: *s}
      method: {type: supervised, supervised: {hyperparameters: {n_epochs: 3}}}
      status: running
    lifecycle: {ignore_changes: [suffix]}
    ---
    kind: CheckpointPermission
    name: share
    spec:
      fine_tuned_model_checkpoint: ${FineTuningJob.bot.fine_tuned_model}
      project_ids: [&p proj_a, proj_b]
    ---
    import: {to: FineTuningJob.bot, id: ftjob-abc}
    """)
TOKENS = ["!!python/object:os.system", "&a", "*a", "<<: *a", "{", "}", "[", "]", ":", "- ", "---", "\t", "\x00",
          "${", "${var.x}", "${File.train}", "}", "'", '"', "\\", "\n", "  ", "%YAML 1.1\n", "!!binary", "\ufeff",
          "? ", "|", ">", "#", "@", "`", "1e999", ".nan", "~", "null", "2h", "../../etc/passwd", "\udcff"]


@st.composite
def mutated(draw) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(TOKENS) | st.text(max_size=4))
        if op == "insert":
            text = text[:pos] + piece + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)):]
        else:
            text = text[:pos] + piece + text[pos + len(piece):]
    return text


_fuzz_counts = {"spec_cases": 0, "spec_valid": 0, "journal_cases": 0, "journal_loaded": 0}


SLOW_EXAMPLES = int(os.environ.get("RECONCILER_RELIABILITY_FUZZ_SLOW", "3000"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(text=mutated())
def test_fuzz_spec_loader_mutations(text: str) -> None:
    _spec_case(text)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(text=mutated())
def test_fuzz_spec_loader_mutations_many(text: str) -> None:
    _spec_case(text)


def _spec_case(text: str) -> None:
    from reconciler.errors import SpecErrors
    from reconciler.kinds.job.training_files import check_training_files
    from reconciler.loading import load_specs

    with tempfile.TemporaryDirectory() as tmp:
        specs = Path(tmp) / "specs"
        (specs / "data").mkdir(parents=True)
        (specs / "data" / "t.jsonl").write_text(chat_jsonl())
        (specs / "x.yaml").write_bytes(text.encode("utf-8", "surrogateescape"))
        _fuzz_counts["spec_cases"] += 1
        try:
            loaded = load_specs(specs, {"x": "1"})
        except SpecErrors as exc:
            assert exc.errors and all(str(e) and "Traceback" not in str(e) for e in exc.errors)
            return
        _fuzz_counts["spec_valid"] += 1
        for error in check_training_files(loaded):
            assert str(error)


def _valid_state_with_journal(tmp: Path):
    from reconciler.state import ResourceState, StateStore, new_state

    store = StateStore(tmp / "s.json")
    state = new_state()
    state.resources["File.a"] = ResourceState(address="File.a", kind="File", id="file-1", inputs={"path": "a"},
                                              digest="d", attributes={"id": "file-1"}, depends_on=[])
    store.write(state)
    store.write(state)   # a second write keeps the first as the backup
    journal = store.open_journal(state)
    journal.record("FineTuningJob.b", ResourceState(address="FineTuningJob.b", kind="FineTuningJob", id="ftjob-1",
                                                    inputs={}, digest="e", attributes={"status": "running"},
                                                    depends_on=["File.a"]))
    journal.record("File.a", None)
    journal.close()
    return store


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_fuzz_state_journal(data) -> None:
    _journal_case(data)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_fuzz_state_journal_many(data) -> None:
    _journal_case(data)


def _journal_case(data) -> None:
    """Damage the journal (and sometimes the backup) of a valid state: load() replays or raises a
    one-line StateError, never anything else; the state file itself is never changed by load."""
    from reconciler.errors import StateError
    from reconciler.state import StateStore

    with tempfile.TemporaryDirectory() as tmp:
        store = _valid_state_with_journal(Path(tmp))
        raw = store.journal_path.read_bytes()
        how = data.draw(st.sampled_from(["truncate", "flip", "insert", "replace_line", "garbage"]))
        if how == "truncate":
            raw = raw[: data.draw(st.integers(0, len(raw)))]
        elif how == "flip":
            i = data.draw(st.integers(0, len(raw) - 1))
            raw = raw[:i] + bytes([raw[i] ^ data.draw(st.integers(1, 255))]) + raw[i + 1:]
        elif how == "insert":
            i = data.draw(st.integers(0, len(raw)))
            raw = raw[:i] + data.draw(st.binary(max_size=30)) + raw[i:]
        elif how == "replace_line":
            lines = raw.split(b"\n")
            line = json.loads(lines[0])
            key = data.draw(st.sampled_from(sorted(line)))
            line[key] = data.draw(st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)
                                  | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
            lines[0] = json.dumps(line).encode()
            raw = b"\n".join(lines)
        else:
            raw = data.draw(st.binary(max_size=200))
        store.journal_path.write_bytes(raw)
        if data.draw(st.booleans()):
            backup = store.backup_path.read_bytes()
            cut = data.draw(st.integers(0, len(backup)))
            store.backup_path.write_bytes(backup[:cut] + data.draw(st.binary(max_size=20)))
            try:
                StateStore(store.path).load_backup()
            except StateError as exc:
                assert "\n" not in str(exc)
        before = store.path.read_bytes()
        _fuzz_counts["journal_cases"] += 1
        fresh = StateStore(store.path)
        try:
            fresh.load()
            _fuzz_counts["journal_loaded"] += 1
        except StateError as exc:
            assert "\n" not in str(exc)
        assert store.path.read_bytes() == before


def _check_fuzz_figures(name: str, examples: int) -> None:
    report(name, {"examples_setting": examples, **_fuzz_counts})
    if not _fuzz_counts["journal_cases"]:
        pytest.skip("the fuzz tests ran in another process (pytest-xdist): no figures here to check")
    assert _fuzz_counts["spec_valid"] <= _fuzz_counts["spec_cases"], _fuzz_counts
    # the damage must not be so mild that everything loads, nor so wild that nothing does: both the
    # replay path and the one-line StateError path were exercised (about half load)
    assert 0 < _fuzz_counts["journal_loaded"] < _fuzz_counts["journal_cases"], _fuzz_counts


def test_fuzz_figures():
    """Runs after the fuzz tests above (file order): prints their case counts and checks that the
    journal fuzz reached both outcomes."""
    _check_fuzz_figures("fuzz", EXAMPLES)


@pytest.mark.slow
def test_fuzz_figures_slow():
    _check_fuzz_figures("fuzz_slow", SLOW_EXAMPLES)
