"""Write docs/scenarios.md, the scenario format's reference, from the schema.

python scripts/scenario_docs.py          # (re)write it
python scripts/scenario_docs.py --check  # exit 1 if the checked-in file is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestrator.scenarios.reference import render

DOC = Path(__file__).resolve().parent.parent / "docs" / "scenarios.md"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python scripts/scenario_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
