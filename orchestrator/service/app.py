"""The HTTP API (FastAPI): routes only; the work is in `manager`.

Every error is JSON `{"error": "<one line naming the field or the run>"}` with a 4xx
status; a bug is a 500 with no traceback in the response.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.errors import ConfigFileError, OrchestratorError, RunDirError
from orchestrator.service import sse
from orchestrator.service.manager import RunConflict, RunManager
from orchestrator.service.people import AnswerRejected
from orchestrator.service.schemas import Answer, CreateRun

MAX_BODY_BYTES = 32 * 1024 * 1024
PAGE = Path(__file__).parent / "web" / "index.html"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def create_app(
    manager: RunManager, *, token: str | None = None, max_body: int = MAX_BODY_BYTES
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager.start()
        try:
            yield
        finally:
            await manager.close()

    app = FastAPI(
        title="orchestrator",
        summary="Submit tasks to a team of AI specialists, watch them live, answer them.",
        version="1",
        lifespan=lifespan,
    )
    _errors(app)
    _routes(app, manager)
    app.add_middleware(_Guard, token=token, max_body=max_body)
    return app


def _routes(app: FastAPI, manager: RunManager) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    @app.get("/api/runs/{run_id}/screenshots/{name}")
    async def screenshot(run_id: str, name: str) -> FileResponse:
        found = manager.screenshot(run_id, name)
        if found is None:
            raise ApiError(404, f"{name}: no such screenshot in run {run_id}")
        return FileResponse(found)

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "max_concurrent": manager.orch.max_concurrent}

    @app.post("/api/runs", status_code=201)
    async def create_run(request: CreateRun) -> dict[str, Any]:
        try:
            handle = await manager.create(request)
        except ConfigFileError as exc:
            raise ApiError(422, str(exc)) from None
        except OrchestratorError as exc:
            raise ApiError(422, f"body: {exc}") from None
        return manager.row(handle.run_id).as_dict()

    @app.get("/api/runs")
    async def list_runs(
        state: str | None = None,
        status: str | None = None,
        q: str | None = Query(default=None, max_length=500, description="Text in the task."),
        limit: int = Query(default=50, ge=1, le=1000),
        offset: int = Query(default=0, ge=0),
    ) -> dict[str, Any]:
        rows = manager.index.search(state=state, status=status, text=q, limit=limit, offset=offset)
        return {"runs": [r.as_dict() for r in rows]}

    @app.get("/api/runs/{run_id}")
    async def get_run(run_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(manager.detail, run_id)  # reads the checkpoint

    @app.get("/api/runs/{run_id}/events", response_class=StreamingResponse)
    async def events(
        run_id: str,
        last_event_id: str | None = Header(default=None),
        after: int | None = Query(default=None, ge=0, description="Start after this seq."),
    ) -> StreamingResponse:
        try:
            start = sse.last_event_id(last_event_id, after)
        except ValueError:
            raise ApiError(
                400, f"Last-Event-ID: {last_event_id!r} is not an event seq number"
            ) from None
        feed = manager.orch.feed(run_id)
        return StreamingResponse(
            sse.stream(feed, start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def answer(run_id: str, ask_id: str, body: Answer, kind: str) -> dict[str, Any]:
        if kind == "question" and body.approved is not None:
            raise ApiError(422, "body.approved: a question takes `answer`, not `approved`")
        if kind == "approval" and body.approved is None:
            raise ApiError(422, "body.approved: required (true or false)")
        if not ask_id.startswith(kind + "-"):
            raise ApiError(404, f"{ask_id!r} names no {kind} of this run")
        return manager.answer(
            run_id, ask_id, answer=body.answer, approved=body.approved
        ).model_dump()

    @app.post("/api/runs/{run_id}/questions/{ask_id}")
    async def answer_question(run_id: str, ask_id: str, body: Answer) -> dict[str, Any]:
        return answer(run_id, ask_id, body, "question")

    @app.post("/api/runs/{run_id}/approvals/{ask_id}")
    async def decide_approval(run_id: str, ask_id: str, body: Answer) -> dict[str, Any]:
        return answer(run_id, ask_id, body, "approval")

    @app.post("/api/runs/{run_id}/cancel", status_code=202)
    async def cancel(run_id: str) -> dict[str, Any]:
        manager.cancel(run_id)
        return manager.row(run_id).as_dict()

    @app.post("/api/runs/{run_id}/resume", status_code=202)
    async def resume(run_id: str) -> dict[str, Any]:
        manager.resume(run_id)
        return manager.row(run_id).as_dict()

    @app.get("/api/runs/{run_id}/files")
    async def files(run_id: str) -> dict[str, Any]:
        return {"files": await asyncio.to_thread(manager.files, run_id)}

    @app.get("/api/runs/{run_id}/files/{path:path}")
    async def file(run_id: str, path: str) -> FileResponse:
        found = manager.file(run_id, path)
        if found is None:
            raise ApiError(404, f"{path}: no such file in the workspace of run {run_id}")
        return FileResponse(found, filename=found.name)


def _errors(app: FastAPI) -> None:
    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_located(e) for e in exc.errors()]
        return JSONResponse({"error": problems[0], "errors": problems}, status_code=422)

    @app.exception_handler(RunDirError)
    async def no_run(request: Request, exc: RunDirError) -> JSONResponse:
        run_id = request.path_params.get("run_id", "")
        return error(404, f"no run {run_id!r} (list them at /api/runs)")

    @app.exception_handler(RunConflict)
    async def conflict(request: Request, exc: RunConflict) -> JSONResponse:
        return error(409, str(exc))

    @app.exception_handler(AnswerRejected)
    async def rejected(request: Request, exc: AnswerRejected) -> JSONResponse:
        return error(exc.status, str(exc))

    @app.exception_handler(OrchestratorError)
    async def user_error(request: Request, exc: OrchestratorError) -> JSONResponse:
        return error(422, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, f"{request.url.path}: {exc.detail}")

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        print(f"orchestrator serve: internal error on {request.url.path}: {exc!r}", file=sys.stderr)
        return error(500, f"internal error ({type(exc).__name__}); see the server's log")


def _located(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        message = "unknown field; remove it (see /openapi.json for the fields)"
    elif error.get("type") == "json_invalid":
        message = f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
    return f"{where}: {message}" if where else message


class _Guard:
    """Bearer token (when set) on /api, and a cap on the request body, before routing."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if (
            self.token is not None
            and scope["path"].startswith("/api")
            and not self._allowed(headers, scope.get("query_string", b"").decode("latin-1"))
        ):
            await _reply(send, 401, "a valid bearer token is required (Authorization: Bearer ...)")
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await _reply(send, 413, f"the body is {declared} bytes; the limit is {self.max_body}")
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            body = await self._read_capped(receive)
            if body is None:
                await _reply(
                    send, 413, f"the body is larger than {self.max_body} bytes (the limit)"
                )
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _read_capped(self, receive: Receive) -> bytes | None:
        """The whole body (it is parsed whole anyway), or None once it passes the cap."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return bytes(body)
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return None
            if not message.get("more_body", False):
                return bytes(body)

    def _allowed(self, headers: dict[str, str], query: str) -> bool:
        assert self.token is not None
        given = headers.get("authorization", "")
        if given.lower().startswith("bearer "):
            return secrets.compare_digest(given[7:].strip().encode(), self.token.encode())
        for pair in query.split("&"):  # EventSource cannot send headers: ?access_token=
            key, _, value = pair.partition("=")
            if key == "access_token":
                return secrets.compare_digest(value.encode(), self.token.encode())
        return False


async def _reply(send: Send, status: int, message: str) -> None:
    response = JSONResponse({"error": message}, status_code=status)
    await response({"type": "http"}, _no_receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # e.g. http.disconnect
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
