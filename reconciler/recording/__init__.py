"""Recordings of how a fine-tuned model answers, and comparisons of another model against them.

`prompts`: the prompt set (the user turns of a chat JSONL file); `store`: a recording on disk
(append-only answers, a manifest with sha256 sums, resumable); `grading`: the local graders a
comparison scores with; `run`: sending the prompts that have no answer yet, a bounded number at a
time. Nothing here prints, reads the environment or knows the CLI."""
