"""The YAML layer: safe tags only, bounded aliases / depth / size, duplicate keys, positions."""

from __future__ import annotations

import time
from pathlib import Path

from reconciler.config import yamlpos
from reconciler.config.yamlpos import load_file, load_text

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused_quickly() -> None:
    start = time.monotonic()
    docs, errors = load_text(BOMB, "bomb.yaml")
    assert time.monotonic() - start < 2
    assert docs == []
    assert len(errors) == 1 and "more than 10000 values" in errors[0].message


def test_recursive_alias_is_refused() -> None:
    docs, errors = load_text("a: &x [*x]\n", "r.yaml")
    assert not docs and len(errors) == 1 and "nested deeper than 64 levels" in errors[0].message


def test_python_tags_are_refused() -> None:
    for text in (
        "!!python/object/apply:os.system ['echo hi']\n",
        "a: !!python/name:os.system\n",
        "a: !!python/object:__main__.X {}\n",
    ):
        docs, errors = load_text(text, "p.yaml")
        assert not docs and len(errors) == 1
        assert "tag !!python/" in errors[0].message and "is not allowed" in errors[0].message


def test_deep_nesting_is_refused() -> None:
    docs, errors = load_text("a: " + "[" * 200 + "]" * 200 + "\n", "deep.yaml")
    assert not docs and len(errors) == 1 and "nested" in errors[0].message


def test_very_deep_nesting_does_not_crash() -> None:
    docs, errors = load_text("[" * 5000 + "]" * 5000 + "\n", "deeper.yaml")
    assert not docs and len(errors) == 1 and "nested too deeply" in errors[0].message


def test_file_size_limit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(yamlpos, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 200 + "\n")
    docs, errors = load_file(path, "big.yaml")
    assert not docs and "limited to" in errors[0].message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"kind: File\nname: caf\xe9\n")
    _docs, errors = load_file(path, "latin.yaml")
    assert errors[0].line == 2 and errors[0].message == "not valid UTF-8"


def test_scalars_and_keys() -> None:
    docs, errors = load_text("on: yes\n1: 0x10\nt: 2024-01-01\nf: 1.5\nn: ~\ns: '3'\n", "s.yaml")
    assert not errors
    assert docs[0].value == {"on": True, "1": 16, "t": "2024-01-01", "f": 1.5, "n": None, "s": "3"}


def test_merge_keys_and_positions() -> None:
    text = "base: &b {x: 1, y: 2}\nmerged:\n  <<: *b\n  y: 3\n"
    docs, errors = load_text(text, "m.yaml")
    assert not errors
    assert docs[0].value["merged"] == {"y": 3, "x": 1}
    assert docs[0].positions["merged.y"] == 4
    assert docs[0].positions["base"] == 1


def test_empty_documents_are_skipped_and_lines_kept() -> None:
    docs, errors = load_text("---\n---\n# comment\nkind: File\nname: a\n---\n", "e.yaml")
    assert not errors and len(docs) == 1 and docs[0].line == 4


def test_error_after_good_documents_keeps_them() -> None:
    docs, errors = load_text("a: 1\n---\nb: [\n", "x.yaml")
    assert len(docs) == 1 and docs[0].value == {"a": 1}
    # reported where the parser ran out of input: the end of the file, just after `b: [` (line 3)
    assert len(errors) == 1 and errors[0].line == 4 and "invalid YAML" in errors[0].message


def test_nan_is_refused() -> None:
    docs, errors = load_text("a: .nan\n", "n.yaml")
    assert not docs and "finite" in errors[0].message


def test_the_coarse_nesting_bound_is_never_below_the_exact_one() -> None:
    """_shallow trusts _coarse_bound alone when it is small: it must bound what _nesting_bound does
    (which bounds the real depth), on every shape of text, document markers and line breaks included."""
    import random

    from reconciler.config.yamlpos import _coarse_bound, _nesting_bound

    rnd = random.Random(19)
    pieces = ["---", "...", "\n", " ", "[", "{", "-", ":", "?", "a", "\r", "\t", "--- ", "]", "...\n", "\f"]
    texts = ["", "a", "---", "[" * 600, "---\n" + "[" * 300 + "\n---\n" + "{" * 300]
    texts += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 80))) for _ in range(5000)]
    for text in texts:
        assert _coarse_bound(text) >= _nesting_bound(text), repr(text)
