from __future__ import annotations

import uuid

from tijarat.bootstrap import Container
from tijarat.ledger.model import Account, CreateTransferResult, Transfer


def test_a_transfer_moves_money_and_the_ledger_verifies(container: Container) -> None:
    ledger = container.ledger
    ledger.create_ledger(1, "PKR", "Pakistani rupee")
    a, b = uuid.uuid4(), uuid.uuid4()
    ledger.create_accounts([Account(a, 1, 1), Account(b, 1, 1)])
    assert ledger.create_transfers([Transfer(uuid.uuid4(), a, b, 500, ledger=1, code=1)]) == [
        CreateTransferResult.OK
    ]
    debit, credit = ledger.lookup_accounts([a, b])
    assert (debit.debits_posted, credit.credits_posted) == (500, 500)
    assert ledger.verify().ok


def test_events_after_a_failed_chain_stand_on_their_own(container: Container) -> None:
    """Regression: a failed linked chain used to fail every later event of the batch."""
    from tijarat.ledger.model import AccountFlags, TransferFlags

    ledger = container.ledger
    ledger.create_ledger(1, "PKR", "Pakistani rupee")
    a, b, s = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ledger.create_accounts(
        [
            Account(a, 1, 1, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
            Account(b, 1, 1),
            Account(s, 1, 1),
        ]
    )
    results = ledger.create_transfers(
        [
            Transfer(uuid.uuid4(), a, b, 10, ledger=1, code=1, flags=TransferFlags.LINKED),
            Transfer(uuid.uuid4(), b, s, 5, ledger=1, code=1),
            Transfer(uuid.uuid4(), s, b, 7, ledger=1, code=1),
            Transfer(uuid.uuid4(), b, s, 1, ledger=1, code=1),
        ]
    )
    assert [str(r) for r in results] == ["exceeds_credits", "linked_event_failed", "ok", "ok"]
    assert ledger.verify().ok


def test_a_malformed_request_is_refused_before_it_joins_a_shared_commit(
    sqlite_container: Container,
) -> None:
    import pytest

    from tijarat.kernel.errors import DomainError

    ledger = sqlite_container.ledger
    ledger.create_ledger(1, "PKR", "Pakistani rupee")
    a, b = uuid.uuid4(), uuid.uuid4()
    ledger.create_accounts([Account(a, 1, 1), Account(b, 1, 1)])
    bad = Transfer("not-a-uuid", a, b, 5, ledger=1, code=1)  # type: ignore[arg-type]
    with pytest.raises(DomainError) as refused:
        ledger.submit_transfers_async([bad])
    assert refused.value.code == "ledger_event_malformed"
    good = [ledger.submit_transfers_async([Transfer(uuid.uuid4(), a, b, 1, ledger=1, code=1)])]
    assert [f.result() for f in good] == [[CreateTransferResult.OK]]
