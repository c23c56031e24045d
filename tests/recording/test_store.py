"""A recording folder on disk: prompts from chat JSONL, a torn answer line after a crash, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.recording.prompts import prompts_from_lines, read_prompts
from reconciler.recording.store import Folder, folder_name


def chat(user: str, answer: str = "ok") -> bytes:
    return json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": user},
                                    {"role": "assistant", "content": answer, "weight": 1}]}).encode() + b"\n"


def test_prompts_stop_at_the_last_user_turn_and_skip_duplicates() -> None:
    lines = [chat("a"), chat("b"), chat("a", "other answer"), b"\n",
             json.dumps({"input": {"messages": [{"role": "user", "content": "c"}]},
                         "preferred_output": [{"role": "assistant", "content": "x"}]}).encode()]
    prompts = list(prompts_from_lines(lines, "f.jsonl"))
    assert [p.messages[-1]["content"] for p in prompts] == ["a", "b", "c"]
    assert all(p.messages[-1]["role"] == "user" for p in prompts)
    assert [p.index for p in prompts] == [0, 1, 2]
    assert list(prompts_from_lines(lines, "f.jsonl", limit=2))[-1].messages[-1]["content"] == "b"


@pytest.mark.parametrize(("line", "message"), [
    (b"{not json\n", "f.jsonl:2: not JSON"),
    (b'{"messages": [{"role": "assistant", "content": "x"}]}\n', "f.jsonl:2: messages: expected a chat example"),
])
def test_a_bad_prompt_line_is_named(line: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        list(prompts_from_lines([chat("a"), line], "f.jsonl"))
    assert str(err.value).startswith(message)


def test_a_torn_last_answer_is_dropped_and_the_file_cut_back(tmp_path: Path) -> None:
    folder = Folder(tmp_path / "r")
    prompts = list(prompts_from_lines([chat("a"), chat("b")], "f"))
    folder.open("ft:m", prompts, {})
    folder.answers.append({"prompt_id": prompts[0].id, "answer": "A"})
    with open(folder.answers.path, "ab") as fh:
        fh.write(b'{"prompt_id": "' + prompts[1].id.encode() + b'", "ans')   # SIGKILL mid-line
    assert list(folder.answers.load()) == [prompts[0].id]
    folder.answers.append({"prompt_id": prompts[1].id, "answer": "B"})
    assert list(folder.answers.load()) == [prompts[0].id, prompts[1].id]


def test_another_model_or_prompt_set_is_refused_and_nothing_is_overwritten(tmp_path: Path) -> None:
    folder = Folder(tmp_path / "r")
    prompts = list(prompts_from_lines([chat("a")], "f"))
    folder.open("ft:one", prompts, {"prompts_source": "first.jsonl"})
    before = {p.name: p.read_bytes() for p in folder.path.iterdir()}
    with pytest.raises(ConfigError, match="holds the answers of ft:one, not ft:two"):
        folder.open("ft:two", prompts, {})
    with pytest.raises(ConfigError, match=r"another prompt set \(first.jsonl\)"):
        folder.open("ft:one", list(prompts_from_lines([chat("z")], "f")), {})
    assert {p.name: p.read_bytes() for p in folder.path.iterdir()} == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not a recording"):
        Folder(tmp_path / "other").open("ft:one", prompts, {})


def test_folder_names_are_safe_and_distinct() -> None:
    assert folder_name("FineTuningJob.bot") == "FineTuningJob.bot"
    a, b = folder_name('FineTuningJob.sweep["a/b"]'), folder_name('FineTuningJob.sweep["a_b"]')
    assert "/" not in a and a != b
    assert folder_name("../../etc") not in ("..", ".", "") and "/" not in folder_name("../../etc")


def test_read_prompts_of_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text("\n")
    with pytest.raises(ConfigError, match="no prompt in it"):
        read_prompts(tmp_path / "p.jsonl")
