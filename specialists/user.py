"""The `user` specialist: a person in the loop.

The orchestrator sends it a question; the person's answer is the reply. Where the person
is depends on how the run was started (a terminal prompt, a scenario's scripted replies);
with nobody there, it says so plainly so the orchestrator can carry on without.
"""

from __future__ import annotations

from specialists.base import Reply, Specialist, StepContext, TeamEnv

NO_HUMAN = (
    "No human is available to answer questions in this run. "
    "Proceed with your best judgement and state any assumptions you make."
)


class UserProxy:
    name = "user"
    description = (
        "The person who made the request. Ask them only when the request is ambiguous or "
        "needs information only they have (a preference, a credential, a decision). "
        "They may not be available; do not ask them to do the team's work."
    )

    def __init__(self, env: TeamEnv) -> None:
        self._human = env.human

    async def step(self, instruction: str, context: StepContext) -> Reply:
        answer = await self._human.ask(instruction)
        if answer is None:
            return Reply(NO_HUMAN, evidence={"human": "unavailable"})
        answer = answer.strip()
        if not answer:
            return Reply("(the person replied with an empty answer)", evidence={"human": "empty"})
        return Reply(answer, evidence={"human": "answered"})

    async def reset(self) -> None:
        return None

    async def close(self) -> None:
        return None


def create(env: TeamEnv) -> Specialist:
    return UserProxy(env)
