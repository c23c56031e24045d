"""A recording (or a comparison's answers) on disk.

    DIR/<address>/recording/prompts.jsonl    the prompt set, one canonical line each
    DIR/<address>/recording/answers.jsonl    one line per answer, appended and fsync'd as it comes
    DIR/<address>/recording/manifest.json    model, sampling, usage, cost, sha256 of both files

A comparison keeps the same files under DIR/<address>/compare/<candidate>/, plus report.json.
Appending line by line makes a run resumable: after a crash the answers already written are kept
(a line cut short by the crash is dropped) and only the missing prompts are sent again. What is
there is never overwritten: a folder that holds another model's answers, or another prompt set,
is refused."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from reconciler.digests import sha256_file
from reconciler.errors import ConfigError
from reconciler.recording.prompts import Prompt, dump_prompts

__all__ = ["AnswerLog", "Folder", "folder_name", "write_json"]

FORMAT_VERSION = 1
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def folder_name(text: str) -> str:
    """A file-system-safe folder name for an address or model id (distinct texts stay distinct)."""
    safe = _SAFE.sub("_", text).strip("._") or "_"
    if safe != text:
        safe += "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return safe


def write_json(path: Path, data: Any) -> None:
    """Atomically: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class AnswerLog:
    """answers.jsonl: one JSON object per line, each with the `prompt_id` it answers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        """The answers written so far, by prompt id; a torn last line (a crash mid-write) is cut off."""
        if not self.path.exists():
            return {}
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: not a regular file")
        answers: dict[str, dict[str, Any]] = {}
        good = 0
        with open(self.path, "rb") as fh:
            for raw in fh:
                try:
                    record = json.loads(raw) if raw.endswith(b"\n") else None
                except ValueError:
                    record = None
                if not isinstance(record, dict) or not isinstance(record.get("prompt_id"), str):
                    break
                answers[record["prompt_id"]] = record
                good += len(raw)
        if good < self.path.stat().st_size:
            with open(self.path, "r+b") as fh:
                fh.truncate(good)
        return answers

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        with self._lock, open(self.path, "ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


class Folder:
    """One recording or comparison folder: its prompt set, answers and manifest."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.prompts_file = path / "prompts.jsonl"
        self.manifest_file = path / "manifest.json"
        self.answers = AnswerLog(path / "answers.jsonl")

    def manifest(self) -> dict[str, Any] | None:
        if not self.manifest_file.exists():
            return None
        try:
            data = json.loads(self.manifest_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.manifest_file}: unreadable ({exc}); move the folder away to record again") \
                from None
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise ConfigError(f"{self.manifest_file}: not a recording manifest this version reads")
        return data

    def open(self, model: str, prompts: Iterable[Prompt], meta: Mapping[str, Any]) -> dict[str, Any]:
        """Start, or take up again, answering `prompts` with `model`. Returns the manifest.

        Refused (ConfigError, one line) when the folder holds another model's answers or another
        prompt set: nothing there is ever overwritten."""
        body = dump_prompts(prompts)
        digest = hashlib.sha256(body).hexdigest()
        existing = self.manifest()
        if existing is not None:
            if existing.get("model") != model:
                raise ConfigError(f"{self.path}: holds the answers of {existing.get('model')}, not {model}; "
                                  "nothing was overwritten (choose another folder, or move this one away)")
            if existing.get("prompts_sha256") != digest:
                raise ConfigError(f"{self.path}: was recorded from another prompt set "
                                  f"({existing.get('prompts_source')}); nothing was overwritten (choose another "
                                  "folder, or move this one away)")
            return existing
        if self.path.exists() and any(self.path.iterdir()):
            raise ConfigError(f"{self.path}: exists and is not a recording; nothing was overwritten")
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.prompts_file.with_name("prompts.jsonl.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, self.prompts_file)
        manifest = {"format_version": FORMAT_VERSION, "model": model, "prompts_sha256": digest,
                    "complete": False, **meta}
        write_json(self.manifest_file, manifest)
        return manifest

    def finish(self, manifest: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
        """Mark complete, with the sha256 of every file beside the manifest."""
        done = {**manifest, **extra, "complete": True,
                "files": {p.name: sha256_file(p)[0] for p in sorted(self.path.iterdir())
                          if p.is_file() and p.name != self.manifest_file.name and not p.name.endswith(".tmp")}}
        write_json(self.manifest_file, done)
        return done
