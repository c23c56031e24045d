"""`python -m reconciler.config.compiled`: regenerate the compiled validators from the schemas."""

from __future__ import annotations

from pathlib import Path

from reconciler.config.compiled import module_name, render


def main() -> None:
    here = Path(__file__).resolve().parent
    kinds = sorted(p.name.removesuffix(".schema.json") for p in (here.parent / "schema").glob("*.schema.json"))
    for kind in (k for k in kinds if k != "spec"):
        path = here / f"{module_name(kind)}.py"
        path.write_text(render(kind), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
