"""Small real specialists for loop tests, registered through `orchestrator.team.BUILTIN`."""

from __future__ import annotations

from specialists.base import Reply, Specialist, StepContext, TeamEnv


class Flaky:
    """Raises on its first step (a bug inside a specialist), answers after that."""

    name = "flaky"
    description = "A specialist that fails once, then works."

    def __init__(self) -> None:
        self.steps = 0
        self.resets = 0
        self.closed = False

    async def step(self, instruction: str, context: StepContext) -> Reply:
        self.steps += 1
        if self.steps == 1:
            raise RuntimeError("boom: the specialist has a bug")
        return Reply(f"done: {instruction}")

    async def reset(self) -> None:
        self.resets += 1

    async def close(self) -> None:
        self.closed = True


class Echo:
    """Always returns the same reply: an identical observation every time."""

    name = "echo"
    description = "Replies with the same text whatever it is asked."

    def __init__(self) -> None:
        self.resets = 0

    async def step(self, instruction: str, context: StepContext) -> Reply:
        return Reply("the same reply")

    async def reset(self) -> None:
        self.resets += 1

    async def close(self) -> None:
        return None


INSTANCES: dict[str, Specialist] = {}


def create_flaky(env: TeamEnv) -> Specialist:
    INSTANCES["flaky"] = specialist = Flaky()
    return specialist


def create_echo(env: TeamEnv) -> Specialist:
    INSTANCES["echo"] = specialist = Echo()
    return specialist


class Fetcher:
    """Fetches the URL it is given over real HTTP and returns the body."""

    name = "fetcher"
    description = "Fetches a URL and returns its text."

    async def step(self, instruction: str, context: StepContext) -> Reply:
        import asyncio
        import urllib.request

        def get() -> str:
            with urllib.request.urlopen(instruction.strip(), timeout=10) as response:
                return str(response.read().decode())

        body = await asyncio.to_thread(get)
        return Reply(body, evidence={"url": instruction.strip()})

    async def reset(self) -> None:
        return None

    async def close(self) -> None:
        return None


def create_fetcher(env: TeamEnv) -> Specialist:
    return Fetcher()


class Snapper:
    """Replies with a screenshot, as the web surfer does for a vision model."""

    name = "snapper"
    description = "Looks at a page and replies with a screenshot of it."

    def __init__(self, png: bytes) -> None:
        self.png = png

    async def step(self, instruction: str, context: StepContext) -> Reply:
        from specialists.models.protocol import ImagePart

        return Reply("Here is the page.", images=(ImagePart(self.png),))

    async def reset(self) -> None:
        return None

    async def close(self) -> None:
        return None


def tiny_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def create_snapper(env: TeamEnv) -> Specialist:
    INSTANCES["snapper"] = specialist = Snapper(tiny_png())
    return specialist
