"""Structured JSON logs of a run's events (structlog), for machines rather than people."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from orchestrator.events import Event, event_type

_NOISY = {"checkpoint_saved"}


def configure(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


class EventLogger:
    """An event subscriber writing one structlog JSON line per event."""

    def __init__(self) -> None:
        self._log = structlog.get_logger("orchestrator")

    def __call__(self, event: Event) -> None:
        kind = event_type(event)
        fields = event.model_dump(mode="json", exclude={"type", "schema_version", "ts"})
        if kind in _NOISY:
            self._log.debug(kind, **fields)
        else:
            self._log.info(kind, **fields)
