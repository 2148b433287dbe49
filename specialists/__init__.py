"""The team: the Specialist protocol and the specialists that implement it."""

from specialists.base import (
    ApprovalRequest,
    HumanChannel,
    Reply,
    Specialist,
    SpecialistConfigError,
    SpecialistFactory,
    StepContext,
    TeamEnv,
)

__all__ = [
    "ApprovalRequest",
    "HumanChannel",
    "Reply",
    "Specialist",
    "SpecialistConfigError",
    "SpecialistFactory",
    "StepContext",
    "TeamEnv",
]
