"""`python -m reconciler.config.compiled`: regenerate the compiled validators from the schemas."""

from __future__ import annotations

from pathlib import Path

from reconciler.config.compiled import module_name, render
from reconciler.config.schema_source import KINDS


def main() -> None:
    here = Path(__file__).resolve().parent
    for kind in KINDS:
        path = here / f"{module_name(kind)}.py"
        path.write_text(render(kind), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
