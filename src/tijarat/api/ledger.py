"""/v1/ledger: the operator's view of the double-entry engine."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from tijarat.api.deps import LedgerDep, OperatorDep
from tijarat.ledger.model import TRANSFER_SUCCESS, CreateAccountResult
from tijarat.ledger.schemas import (
    AccountOut,
    AccountsIn,
    EventResult,
    LedgerIn,
    LedgerOut,
    ResultsOut,
    StatementOut,
    TransferRecordOut,
    TransfersIn,
    VerifyOut,
)
from tijarat.ledger.store import STATEMENT_ENTRIES_MAX

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

TRANSFER_RESULTS = Counter(
    "tijarat_ledger_transfer_results_total", "Transfers by result code", ["result"]
)
TIMESTAMP_END = (1 << 63) - 1


@router.post("/ledgers", status_code=201)
async def create_ledger(
    body: LedgerIn, ledger: LedgerDep, _: OperatorDep, response: Response
) -> LedgerOut:
    created = await run_in_threadpool(ledger.create_ledger, body.id, body.currency, body.name)
    if not created:
        response.status_code = 200
    return LedgerOut(id=body.id, currency=body.currency, name=body.name)


@router.get("/ledgers")
async def list_ledgers(ledger: LedgerDep, _: OperatorDep) -> list[LedgerOut]:
    found = await run_in_threadpool(ledger.ledgers)
    return [LedgerOut(id=x.id, currency=x.currency, name=x.name) for x in found]


@router.post("/accounts")
async def create_accounts(body: AccountsIn, ledger: LedgerDep, _: OperatorDep) -> ResultsOut:
    accounts = [a.to_model() for a in body.accounts]
    results = await run_in_threadpool(ledger.create_accounts, accounts)
    ok = {CreateAccountResult.OK, CreateAccountResult.EXISTS}
    return ResultsOut(
        ok=all(r in ok for r in results),
        results=[
            EventResult(index=i, id=str(a.id), result=str(r))
            for i, (a, r) in enumerate(zip(accounts, results, strict=True))
        ],
    )


@router.get("/accounts/{account_id}")
async def get_account(account_id: uuid.UUID, ledger: LedgerDep, _: OperatorDep) -> AccountOut:
    return AccountOut.of(await run_in_threadpool(ledger.get_account, account_id))


@router.post("/accounts/{account_id}/close")
async def close_account(account_id: uuid.UUID, ledger: LedgerDep, _: OperatorDep) -> AccountOut:
    return AccountOut.of(await run_in_threadpool(ledger.close_account, account_id))


@router.post("/accounts/{account_id}/reopen")
async def reopen_account(account_id: uuid.UUID, ledger: LedgerDep, _: OperatorDep) -> AccountOut:
    return AccountOut.of(await run_in_threadpool(ledger.reopen_account, account_id))


@router.get("/accounts/{account_id}/statement")
async def statement(
    account_id: uuid.UUID,
    ledger: LedgerDep,
    _: OperatorDep,
    from_timestamp: Annotated[int, Query(alias="from", ge=0)] = 0,
    to_timestamp: Annotated[int, Query(alias="to", ge=0)] = TIMESTAMP_END,
    limit: Annotated[int, Query(ge=1, le=STATEMENT_ENTRIES_MAX)] = 1000,
) -> StatementOut:
    account = await run_in_threadpool(ledger.get_account, account_id)
    currency = await run_in_threadpool(ledger.ledger_currency, account.ledger)
    found = await run_in_threadpool(
        ledger.statement, account_id, from_timestamp, to_timestamp, limit
    )
    return StatementOut.of(found, currency)


@router.post("/transfers")
async def create_transfers(body: TransfersIn, ledger: LedgerDep, _: OperatorDep) -> ResultsOut:
    """Apply transfers; answered once durable. Concurrent requests share commits."""
    transfers = [t.to_model() for t in body.transfers]
    future = ledger.submit_transfers_async(transfers)
    results = await asyncio.wrap_future(future)
    for result in results:
        TRANSFER_RESULTS.labels(str(result)).inc()
    return ResultsOut(
        ok=all(r in TRANSFER_SUCCESS for r in results),
        results=[
            EventResult(index=i, id=str(t.id), result=str(r))
            for i, (t, r) in enumerate(zip(transfers, results, strict=True))
        ],
    )


@router.get("/transfers/{transfer_id}")
async def get_transfer(
    transfer_id: uuid.UUID, ledger: LedgerDep, _: OperatorDep
) -> TransferRecordOut:
    record = await run_in_threadpool(ledger.get_transfer, transfer_id)
    pending = await run_in_threadpool(ledger.lookup_pending, [transfer_id])
    return TransferRecordOut.of(record, pending[0] if pending else None)


@router.post("/verify")
async def verify(ledger: LedgerDep, _: OperatorDep) -> VerifyOut:
    report = await run_in_threadpool(ledger.verify)
    return VerifyOut(
        ok=report.ok,
        ledgers=report.ledgers,
        accounts=report.accounts,
        transfers=report.transfers,
        problems=report.problems,
    )
