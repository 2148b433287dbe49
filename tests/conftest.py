"""Fixtures shared by the test modules."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator import session
from orchestrator.models.scripted import ScriptedModel


@pytest.fixture
def recorded_models(monkeypatch: pytest.MonkeyPatch) -> list[ScriptedModel]:
    """Every scripted model a run builds, kept so a test can read the requests it got."""
    made: list[ScriptedModel] = []

    class Recording(ScriptedModel):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(session, "ScriptedModel", Recording)
    return made
