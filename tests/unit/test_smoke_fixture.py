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
