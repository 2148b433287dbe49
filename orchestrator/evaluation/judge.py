"""Which model judges answers for the `judge` scorer.

`--judge-model provider:model` gives a real one (metered like any other call); for
offline runs a task's scripted model may carry `eval.judge` replies instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from orchestrator.evaluation.scoring import JUDGE_PURPOSE
from orchestrator.evaluation.suites import EvalTask
from orchestrator.events import EventBus
from orchestrator.models.factory import create_client, pricing_for
from orchestrator.models.managed import ManagedModel, Meter
from orchestrator.models.scripted import ScriptedModel
from orchestrator.models.spec import ModelSpec
from specialists.models.protocol import ModelClient


def judge_model_for(
    judge: ModelSpec | None, task: EvalTask, environ: Mapping[str, str] | None
) -> ModelClient | None:
    """The real `judge` model if one is given, else the task's scripted judge, if any."""
    if judge is not None:
        client = create_client(judge, os.environ if environ is None else environ)
        return ManagedModel(
            client,
            role="judge",
            bus=EventBus(f"judge:{task.id}"),
            meter=Meter(),
            pricing=pricing_for(judge),
            max_retries=judge.max_retries,
        )
    script = task.scripted.script if task.scripted is not None else {}
    if JUDGE_PURPOSE in script:
        return ScriptedModel({JUDGE_PURPOSE: script[JUDGE_PURPOSE]})
    return None
