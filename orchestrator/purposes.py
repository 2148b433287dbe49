"""The purposes a scripted model can be given replies for, checked when a script is loaded.

A purpose names what a model call is for: the orchestrator's four ledger calls, the judge of
an evaluation, and each specialist's own calls (its name, or `name.something`, e.g.
`web_surfer.answer`). A typo (`orchestrator.progres`) would otherwise surface only mid-run
as "the script has no replies for orchestrator.progress".
"""

from __future__ import annotations

import difflib
from typing import Annotated

from pydantic import AfterValidator

ORCHESTRATOR = (
    "orchestrator.facts",
    "orchestrator.plan",
    "orchestrator.progress",
    "orchestrator.final",
)
FIXED = (*ORCHESTRATOR, "eval.judge", "web_surfer.answer")


def known() -> list[str]:
    from orchestrator import team  # entry points: third-party specialists count too

    return sorted({*FIXED, *team.available()})


def check(purpose: str) -> str:
    names = known()
    if purpose in names or purpose.split(".", 1)[0] in names:
        return purpose
    close = difflib.get_close_matches(purpose, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ValueError(f"unknown purpose {purpose!r}; {hint}known: {', '.join(names)}")


Purpose = Annotated[str, AfterValidator(check)]
