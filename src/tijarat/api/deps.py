"""Request dependencies: the container, the ledger service, operator authentication."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tijarat.bootstrap import Container
from tijarat.kernel.errors import DomainError
from tijarat.ledger.service import LedgerService

_bearer = HTTPBearer(auto_error=False)


def container(request: Request) -> Container:
    built: Container = request.app.state.container
    return built


def ledger(request: Request) -> LedgerService:
    return container(request).ledger


def operator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = container(request).settings.operator_token or ""
    given = credentials.credentials if credentials else ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise DomainError(
            "unauthenticated",
            "send the operator token as 'Authorization: Bearer <token>'",
            status=401,
        )


ContainerDep = Annotated[Container, Depends(container)]
LedgerDep = Annotated[LedgerService, Depends(ledger)]
OperatorDep = Annotated[None, Depends(operator)]
