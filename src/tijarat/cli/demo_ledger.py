"""The ledger chapter of the Skardu story, played on the real engine.

A Skardu business sells on a B2B marketplace: the buyer's dollars wait in escrow (a pending
transfer with a 30-day timeout), are released on delivery, converted to rupees through FX
position accounts (a linked chain across the USD and PKR ledgers), and pay two Karachi
suppliers at once (a linked chain). An overdraft is refused, a retried payment moves money
once, a deposit reservation expires when the clock passes its timeout, and the ledger
verifies. The later chapters (hub, wallets, trade, supply) post through the same engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.ids import new_id
from tijarat.kernel.money import Money, format_money
from tijarat.ledger.model import (
    Account,
    AccountFlags,
    CreateTransferResult,
    Transfer,
    TransferFlags,
)

PKR, USD = 1, 2
# Account codes (what kind of account): chart of accounts for the demo.
CODE_WALLET, CODE_CLEARING, CODE_FX_POSITION, CODE_SUPPLIER = 100, 200, 300, 400
# Transfer codes (why money moved).
ESCROW, FX, SUPPLIER_PAYMENT, DEPOSIT = 1, 2, 3, 4
RATE_PKR_PER_USD_MILLI = 278_450  # 278.450 PKR per USD, an example rate from a rate table
DAY_S = 86_400


@dataclass
class Step:
    title: str
    results: list[str]
    ok: bool


@dataclass
class DemoReport:
    steps: list[Step] = field(default_factory=list)
    balances: dict[str, str] = field(default_factory=dict)
    ledger_balanced: bool = False
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "steps": [{"title": s.title, "results": s.results, "ok": s.ok} for s in self.steps],
            "balances": self.balances,
            "ledger_balanced": self.ledger_balanced,
            "problems": self.problems,
        }


def play(container: Container, clock: ManualClock) -> DemoReport:
    ledger = container.ledger
    report = DemoReport()
    ledger.create_ledger(PKR, "PKR", "Pakistani rupee")
    ledger.create_ledger(USD, "USD", "US dollar")
    ids = {
        name: new_id()
        for name in (
            "marketplace_usd",
            "skardu_usd",
            "fx_usd",
            "fx_pkr",
            "skardu_pkr",
            "supplier_wool",
            "supplier_dyes",
        )
    }
    no_overdraft = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    ledger.create_accounts(
        [
            Account(ids["marketplace_usd"], USD, CODE_CLEARING),
            Account(ids["skardu_usd"], USD, CODE_WALLET, no_overdraft),
            Account(ids["fx_usd"], USD, CODE_FX_POSITION),
            Account(ids["fx_pkr"], PKR, CODE_FX_POSITION),
            Account(ids["skardu_pkr"], PKR, CODE_WALLET, no_overdraft),
            Account(ids["supplier_wool"], PKR, CODE_SUPPLIER),
            Account(ids["supplier_dyes"], PKR, CODE_SUPPLIER),
        ]
    )

    def run(title: str, transfers: list[Transfer], *, expect_ok: bool = True) -> None:
        results = ledger.submit_transfers(transfers)
        succeeded = all(
            r in (CreateTransferResult.OK, CreateTransferResult.EXISTS) for r in results
        )
        report.steps.append(Step(title, [str(r) for r in results], succeeded == expect_ok))

    order_usd = 12_000_00  # USD 12,000.00 for 400 hand-knotted rugs
    escrow = new_id()
    run(
        "Buyer pays USD 12,000.00 into escrow (pending, 30-day timeout)",
        [
            Transfer(
                escrow,
                ids["marketplace_usd"],
                ids["skardu_usd"],
                order_usd,
                ledger=USD,
                code=ESCROW,
                flags=TransferFlags.PENDING,
                timeout=30 * DAY_S,
            )
        ],
    )
    clock.advance(seconds=9 * DAY_S)
    run(
        "Delivered: escrow released to the Skardu USD wallet",
        [Transfer(new_id(), pending_id=escrow, flags=TransferFlags.POST_PENDING_TRANSFER)],
    )
    convert_usd = 10_000_00
    convert_pkr = convert_usd * RATE_PKR_PER_USD_MILLI // 1000
    run(
        "USD 10,000.00 converted to rupees at 278.450 (linked across USD and PKR ledgers)",
        [
            Transfer(
                new_id(),
                ids["skardu_usd"],
                ids["fx_usd"],
                convert_usd,
                ledger=USD,
                code=FX,
                flags=TransferFlags.LINKED,
            ),
            Transfer(new_id(), ids["fx_pkr"], ids["skardu_pkr"], convert_pkr, ledger=PKR, code=FX),
        ],
    )
    wool, dyes = new_id(), new_id()
    payments = [
        Transfer(
            wool,
            ids["skardu_pkr"],
            ids["supplier_wool"],
            1_250_000_00,
            ledger=PKR,
            code=SUPPLIER_PAYMENT,
            flags=TransferFlags.LINKED,
        ),
        Transfer(
            dyes,
            ids["skardu_pkr"],
            ids["supplier_dyes"],
            340_000_00,
            ledger=PKR,
            code=SUPPLIER_PAYMENT,
        ),
    ]
    run("Two Karachi suppliers paid together (all or nothing)", payments)
    run("The same payment request retried: answered 'exists', paid once", payments)
    run(
        "An overdraft of Rs 5,000,000 is refused; nothing moves",
        [
            Transfer(
                new_id(),
                ids["skardu_pkr"],
                ids["supplier_wool"],
                5_000_000_00,
                ledger=PKR,
                code=SUPPLIER_PAYMENT,
            )
        ],
        expect_ok=False,
    )
    deposit = new_id()
    run(
        "Rs 100,000 reserved as a deposit for next month's wool (1-hour timeout)",
        [
            Transfer(
                deposit,
                ids["skardu_pkr"],
                ids["supplier_wool"],
                100_000_00,
                ledger=PKR,
                code=DEPOSIT,
                flags=TransferFlags.PENDING,
                timeout=3_600,
            )
        ],
    )
    clock.advance(seconds=3_601)
    expired = ledger.expire_due()
    report.steps.append(
        Step(
            "An hour passes: the reservation expires and the funds return",
            [f"expired {expired}"],
            expired >= 1,
        )
    )
    currency = {PKR: "PKR", USD: "USD"}
    for name, account in zip(ids, ledger.lookup_accounts(list(ids.values())), strict=True):
        net = account.credits_posted - account.debits_posted
        report.balances[name] = format_money(Money(net, currency[account.ledger]))
    verified = ledger.verify()
    report.ledger_balanced = verified.ok
    report.problems = verified.problems
    return report
