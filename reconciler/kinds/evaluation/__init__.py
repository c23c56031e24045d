"""`kind: Evaluation`: the bar a replacement model must reach against a recorded model's answers.

Not a resource: nothing is created on a platform. `schema.py` holds its JSON Schema source,
`document.py` checks a document when the specs load, `status.py` says where it stands (pass,
fail, stale, missing, pending) from the last comparison kept beside the recording."""
