"""`python -m reconciler.config.compiled`: write the compiled validators from the schemas (an
install does it too)."""

from __future__ import annotations

from pathlib import Path

from reconciler.config.compiled.generate import write_all


def main() -> None:
    here = Path(__file__).resolve().parent
    for path in write_all(here.parent / "schema", here):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
