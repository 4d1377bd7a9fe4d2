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


# Async on purpose: FastAPI runs a plain `def` dependency on a worker thread, a hand-off per
# request that profiles of the hub put at 17-19 % of its time; these only read an attribute.
async def container(request: Request) -> Container:
    built: Container = request.app.state.container
    return built


async def ledger(request: Request) -> LedgerService:
    built: Container = request.app.state.container
    return built.ledger


async def operator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    built: Container = request.app.state.container
    expected = built.settings.operator_token or ""
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
