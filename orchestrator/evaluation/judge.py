"""Which model judges answers for the `judge` scorer.

`--judge-model provider:model` gives a real one (metered like any other call); for
offline runs a task's scripted model may carry `eval.judge` replies instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from orchestrator.evaluation.scoring import JUDGE_PURPOSE
from orchestrator.events import EventBus
from orchestrator.models.factory import create_client, pricing_for
from orchestrator.models.managed import ManagedModel, Meter
from orchestrator.models.scripted import ScriptedModel
from specialists.models.protocol import ModelClient

if TYPE_CHECKING:
    from orchestrator.evaluation.trial import TrialJob


def judge_model_for(job: TrialJob, environ: Mapping[str, str] | None) -> ModelClient | None:
    if job.judge is not None:
        client = create_client(job.judge, os.environ if environ is None else environ)
        return ManagedModel(
            client,
            role="judge",
            bus=EventBus(f"judge:{job.task.id}"),
            meter=Meter(),
            pricing=pricing_for(job.judge),
            max_retries=job.judge.max_retries,
        )
    script = job.task.scripted.script if job.task.scripted is not None else {}
    if JUDGE_PURPOSE in script:
        return ScriptedModel({JUDGE_PURPOSE: script[JUDGE_PURPOSE]})
    return None
