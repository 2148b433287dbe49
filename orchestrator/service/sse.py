"""A run's events as Server-Sent Events: `id:` is the event's `seq`, so a client that
reconnects with `Last-Event-ID: N` gets every event after N exactly once (see `feed`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from orchestrator.events import event_type
from orchestrator.feed import EventFeed

KEEPALIVE_SECONDS = 15.0


async def stream(
    feed: EventFeed, after: int, keepalive: float = KEEPALIVE_SECONDS
) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    async for event in feed.follow(after, idle=keepalive):
        if event is None:
            yield ": keep-alive\n\n"
            continue
        yield f"id: {event.seq}\nevent: {event_type(event)}\ndata: {event.model_dump_json()}\n\n"
    # The run is no longer executing here (finished, interrupted): nothing more will come.
    yield "event: end\ndata: {}\n\n"


def last_event_id(header: str | None, after: int | None) -> int:
    """Where to start: the `Last-Event-ID` header wins over `?after=`.
    Raises ValueError for a header that is not an event's seq number."""
    if header is not None and header.strip():
        value = int(header.strip())
        if value < 0:
            raise ValueError(header)
        return value
    return max(0, after or 0)
