"""RFC 9457 problem details: every refusal is application/problem+json with a stable code."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tijarat.kernel.errors import DomainError

PROBLEM = "application/problem+json"
TYPE_BASE = "https://tijarat.dev/problems/"


def problem(
    status: int, code: str, detail: str, *, instance: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def domain_problem(error: DomainError, path: str) -> JSONResponse:
    response = problem(error.status, error.code, error.message, instance=path, fields=error.fields)
    retry_after = error.fields.get("retry_after_s")
    if isinstance(retry_after, int) and retry_after >= 0:
        # RFC 9110: a 429 or 503 may say when to come back; clients and proxies read this.
        response.headers["Retry-After"] = str(retry_after)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        return domain_problem(error, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": [str(part) for part in item.get("loc", ())],
                "message": item.get("msg", ""),
                "type": item.get("type", ""),
            }
            for item in error.errors()[:50]
        ]
        return problem(
            422,
            "validation_failed",
            "the request does not match the schema; see errors",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "request_too_large",
        }.get(error.status_code, "http_error")
        return problem(error.status_code, code, str(error.detail), instance=request.url.path)
