"""The FastAPI application factory."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import sqlalchemy as sa
import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool

from tijarat import __version__
from tijarat.api import compliance, errors, ledger, supply, switch, trade, wallet
from tijarat.api.errors import problem
from tijarat.bootstrap import Container, build
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

    app = FastAPI(
        title="Tijarat",
        version=__version__,
        description="Pakistan's digital export supply chain: ledger, payments, trade.",
        lifespan=lifespan,
    )
    app.state.container = container
    errors.install(app)
    app.include_router(ledger.router)
    app.include_router(switch.router)
    app.include_router(wallet.router)
    app.include_router(compliance.router)
    app.include_router(supply.router)
    app.include_router(trade.router)

    @app.middleware("http")
    async def _edges(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        limit = _body_limit(app)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return problem(
                413,
                "request_too_large",
                f"request bodies are limited to {limit} bytes",
                instance=request.url.path,
            )
        began = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = await call_next(request)
        route = request.scope.get("route")
        REQUEST_SECONDS.labels(
            request.method, getattr(route, "path", "unmatched"), str(response.status_code)
        ).observe(time.perf_counter() - began)
        response.headers["x-request-id"] = request_id
        return response

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
