"""The FastAPI application factory."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import sqlalchemy as sa
import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tijarat import __version__
from tijarat.api import compliance, errors, ledger, supply, switch, trade, wallet
from tijarat.api.errors import problem
from tijarat.bootstrap import Container, build, tune_collector
from tijarat.logs import configure_logging
from tijarat.settings import Settings

REQUEST_SECONDS = Histogram(
    "tijarat_http_request_seconds", "HTTP request latency", ["method", "route", "status"]
)
log = structlog.get_logger("tijarat.api")


def create_app(container: Container | None = None) -> FastAPI:
    """An app over `container`, or over one built from the environment (closed on shutdown)."""
    owned = container is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.container is None:
            settings = Settings()
            configure_logging(settings)
            app.state.container = build(settings)
        log.info("started", database=app.state.container.engine.dialect.name)
        stop = threading.Event()
        sweeper = None
        if owned:  # a served process; tests drive time themselves
            tune_collector()
            sweeper = threading.Thread(
                target=_sweep_forever, args=(app.state.container, stop), daemon=True
            )
            sweeper.start()
        yield
        stop.set()
        if sweeper is not None:
            sweeper.join(timeout=5)
        if owned:
            app.state.container.close()

    app = _Tijarat(
        title="Tijarat",
        version=__version__,
        description="Pakistan's digital export supply chain: ledger, payments, trade.",
        lifespan=lifespan,
        # No OpenTelemetry here (metrics are Prometheus'): FastAPI's check of its providers,
        # made on every request otherwise, was ~2 % of the hub's time.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    errors.install(app)
    app.include_router(ledger.router)
    app.include_router(switch.router)
    app.include_router(wallet.router)
    app.include_router(compliance.router)
    app.include_router(supply.router)
    app.include_router(trade.router)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> Response:
        """The database answers: ready to take traffic."""
        engine: sa.Engine = request.app.state.container.engine

        def ping() -> None:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except sa.exc.SQLAlchemyError as error:
            log.warning("not ready", error=str(error))
            return problem(503, "database_unavailable", "the database does not answer")
        return Response('{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


class _Tijarat(FastAPI):
    """FastAPI with every request's edges (Edges) and the payments fast path outside its own
    middleware stack rather than inside it: the hub's hottest request no longer passes the
    three layers FastAPI puts first (server errors, telemetry, a body limit Edges already
    keeps), which profiles showed as ~4 % of the hub's time. Nothing is lost: an error the
    fast path does not answer is uvicorn's 500, as it was ServerErrorMiddleware's."""

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        return Edges(switch.PaymentsFastPath(inner), limit=lambda: _body_limit(self))


class Edges:
    """Every request's edges: a request id (logged, echoed), the body limit, the latency metric.

    A plain ASGI middleware: Starlette's `@app.middleware("http")` runs each request through
    an extra task and memory streams, which profiles of the hub showed as a real share of
    its time.
    """

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        limit = self.limit()
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _too_large(limit, scope)(scope, receive, send)
            return
        status = 500  # what is recorded if the app fails before it answers
        began = time.perf_counter()
        # The declared length is not the only way in: a chunked body has none, so the bytes
        # are counted as they arrive, and the app never reads more than the limit.
        received = 0
        too_large = started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            if too_large:  # an app that swallowed the refusal and reads on
                raise RequestTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise RequestTooLarge
            return message

        async def forward(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                echoed = (b"x-request-id", request_id.encode("latin-1", "replace"))
                message["headers"] = [*message.get("headers", []), echoed]
            await send(message)

        async def send_with_id(message: Message) -> None:
            if not too_large:
                await forward(message)
            elif not started:
                # Whatever the app answers to a body cut short, the answer is the 413.
                await _too_large(limit, scope)(scope, receive, forward)
            # else: the app's own answer after the refusal (or after the limit): dropped

        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, counted_receive, send_with_id)
        except RequestTooLarge:
            if started:
                if status == HTTP_413:
                    return  # refused already, in send_with_id
                raise  # an answer began before the body passed the limit: cut it off
            await _too_large(limit, scope)(scope, receive, forward)
        finally:
            route = scope.get("route")
            REQUEST_SECONDS.labels(
                scope["method"], getattr(route, "path", "unmatched"), str(status)
            ).observe(time.perf_counter() - began)


HTTP_413 = 413


def _too_large(limit: int, scope: Scope) -> Response:
    return problem(
        HTTP_413,
        "request_too_large",
        f"request bodies are limited to {limit} bytes",
        instance=scope["path"],
    )


class RequestTooLarge(HTTPException):
    """Raised by a request's receive once its body passes the limit.

    An HTTPException so that FastAPI, which turns any other error met while reading a
    body into a 400, lets it through to the 413 problem handler; whatever handles it,
    Edges makes sure the answer is the 413 problem+json.
    """

    def __init__(self) -> None:
        super().__init__(HTTP_413, "the request body is over the limit")


SWEEP_INTERVAL_S = 1.0


def _sweep_forever(container: Container, stop: threading.Event) -> None:
    """Timeouts (Raast's 20 s), expiries and due claims happen even when no request comes."""
    while not stop.wait(SWEEP_INTERVAL_S):
        try:
            container.sweep()
        except Exception:  # a failed sweep is retried in a second; never kill the thread
            log.exception("sweep failed")


def _body_limit(app: FastAPI) -> int:
    container: Container | None = app.state.container
    return container.settings.request_body_max_bytes if container else 4 * 1024 * 1024


def create_app_from_environment() -> FastAPI:
    """For `uvicorn --factory` with several workers: each builds its own container."""
    return create_app(None)
