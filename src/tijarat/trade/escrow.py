"""Escrow and export proceeds on the ledger: trade's accounts and the transfers between them.

Where the money sits (all on the wallet book's ledgers, one ledger per currency):

    collection (4001)  what buyers paid through the marketplace: the nostro it arrived in
    escrow     (4002)  one per seller and currency: buyers' money held until release
    seller wallet      the business's wallet account (the wallet owns it)
    payables (4011-13) Export Development Surcharge, withholding tax and advance tax owed

A buyer's payment is posted collection -> escrow and, linked with it, held as a pending
transfer escrow -> seller wallet. Release posts the pending transfer; a full refund voids it
and sends the money escrow -> collection (back to the buyer); a partial refund posts only
the seller's part (the rest returns to escrow) and refunds the rest. Every transfer id is
derived from the order id, so each step may be repeated after a crash and moves money once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tijarat.kernel.errors import DomainError
from tijarat.ledger.model import (
    TRANSFER_SUCCESS,
    Account,
    AccountFlags,
    CreateAccountResult,
    Transfer,
    TransferFlags,
)
from tijarat.ledger.service import LedgerService
from tijarat.trade.errors import TradeError
from tijarat.trade.model import (
    ACCOUNT_CODE_ADVANCE_TAX_PAYABLE,
    ACCOUNT_CODE_COLLECTION,
    ACCOUNT_CODE_ESCROW,
    ACCOUNT_CODE_SURCHARGE_PAYABLE,
    ACCOUNT_CODE_WITHHOLDING_TAX_PAYABLE,
    TRANSFER_CODE_ADVANCE_TAX,
    TRANSFER_CODE_BUYER_PAYMENT,
    TRANSFER_CODE_ESCROW_HOLD,
    TRANSFER_CODE_REFUND,
    TRANSFER_CODE_SURCHARGE,
    TRANSFER_CODE_WITHHOLDING_TAX,
    Deduction,
    DeductionKind,
    Order,
)
from tijarat.trade.ports import SellerWallets

TRADE_NAMESPACE = uuid.UUID("5f3c1e2a-8b7d-4c6e-9a1f-2d3e4f5a6b7c")

_DEDUCTION_CODES = {
    DeductionKind.EXPORT_DEVELOPMENT_SURCHARGE: (
        ACCOUNT_CODE_SURCHARGE_PAYABLE,
        TRANSFER_CODE_SURCHARGE,
    ),
    DeductionKind.WITHHOLDING_TAX: (
        ACCOUNT_CODE_WITHHOLDING_TAX_PAYABLE,
        TRANSFER_CODE_WITHHOLDING_TAX,
    ),
    DeductionKind.ADVANCE_TAX: (ACCOUNT_CODE_ADVANCE_TAX_PAYABLE, TRANSFER_CODE_ADVANCE_TAX),
}


def derived_id(order_id: uuid.UUID, step: str) -> uuid.UUID:
    """The id of one step of one order (a transfer, a conversion request)."""
    return uuid.uuid5(TRADE_NAMESPACE, f"{order_id}:{step}")


def collection_account_id(ledger_id: int) -> uuid.UUID:
    return uuid.uuid5(TRADE_NAMESPACE, f"collection:{ledger_id}")


def escrow_account_id(business_id: uuid.UUID, ledger_id: int) -> uuid.UUID:
    return uuid.uuid5(TRADE_NAMESPACE, f"escrow:{business_id}:{ledger_id}")


def payable_account_id(kind: DeductionKind, ledger_id: int) -> uuid.UUID:
    return uuid.uuid5(TRADE_NAMESPACE, f"payable:{kind.value}:{ledger_id}")


@dataclass(frozen=True, slots=True)
class EscrowAccounts:
    ledger_id: int
    seller_account_id: uuid.UUID
    collection_account_id: uuid.UUID
    escrow_account_id: uuid.UUID


def _refused(step: str, results: Sequence[object]) -> DomainError:
    return DomainError(
        TradeError.LEDGER_REFUSED,
        f"the ledger refused the {step}: {', '.join(str(result) for result in results)}",
        status=409,
        fields={"step": step, "results": [str(result) for result in results]},
    )


class Escrow:
    """Trade's postings. Stateless apart from remembering which accounts it has opened."""

    def __init__(self, ledger: LedgerService) -> None:
        self.ledger = ledger
        self._opened: set[uuid.UUID] = set()

    def _open(self, accounts: Sequence[Account]) -> None:
        missing = [account for account in accounts if account.id not in self._opened]
        if not missing:
            return
        results = self.ledger.create_accounts(missing)
        if any(
            result not in (CreateAccountResult.OK, CreateAccountResult.EXISTS) for result in results
        ):
            raise _refused("opening of trade accounts", results)
        self._opened.update(account.id for account in missing)

    def accounts(
        self, wallets: SellerWallets, business_id: uuid.UUID, currency: str
    ) -> EscrowAccounts:
        """The seller's wallet account in `currency` and trade's accounts on its ledger."""
        seller = wallets.account_id(business_id, currency)
        ledger_id = self.ledger.get_account(seller).ledger
        collection = collection_account_id(ledger_id)
        escrow = escrow_account_id(business_id, ledger_id)
        self._open(
            [
                # The marketplace's nostro mirror: an asset, its balance may go either way.
                Account(collection, ledger_id, ACCOUNT_CODE_COLLECTION),
                # Escrow can only hand on what buyers put in.
                Account(
                    escrow,
                    ledger_id,
                    ACCOUNT_CODE_ESCROW,
                    AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                    owner_id=business_id,
                ),
            ]
        )
        return EscrowAccounts(ledger_id, seller, collection, escrow)

    def _apply(self, step: str, transfers: Sequence[Transfer]) -> None:
        results = self.ledger.create_transfers(transfers)
        if any(result not in TRANSFER_SUCCESS for result in results):
            raise _refused(step, results)

    def hold(self, accounts: EscrowAccounts, order: Order) -> None:
        """The buyer's payment arrives and is held for the seller (pending)."""
        self._apply(
            "escrow hold",
            [
                Transfer(
                    derived_id(order.id, "payment"),
                    accounts.collection_account_id,
                    accounts.escrow_account_id,
                    order.total_minor,
                    user_data_128=order.id,
                    ledger=accounts.ledger_id,
                    code=TRANSFER_CODE_BUYER_PAYMENT,
                    flags=TransferFlags.LINKED,
                ),
                Transfer(
                    derived_id(order.id, "hold"),
                    accounts.escrow_account_id,
                    accounts.seller_account_id,
                    order.total_minor,
                    user_data_128=order.id,
                    ledger=accounts.ledger_id,
                    code=TRANSFER_CODE_ESCROW_HOLD,
                    flags=TransferFlags.PENDING,
                ),
            ],
        )

    def release(self, order: Order) -> None:
        """Everything held goes to the seller."""
        self._apply(
            "escrow release",
            [
                Transfer(
                    derived_id(order.id, "release"),
                    pending_id=derived_id(order.id, "hold"),
                    user_data_128=order.id,
                    flags=TransferFlags.POST_PENDING_TRANSFER,
                )
            ],
        )

    def refund_in_full(self, accounts: EscrowAccounts, order: Order) -> None:
        """The hold is voided and the whole payment goes back to the buyer."""
        self._apply(
            "full refund",
            [
                Transfer(
                    derived_id(order.id, "void"),
                    pending_id=derived_id(order.id, "hold"),
                    user_data_128=order.id,
                    flags=TransferFlags.VOID_PENDING_TRANSFER | TransferFlags.LINKED,
                ),
                self._refund(accounts, order, order.total_minor),
            ],
        )

    def refund_in_part(self, accounts: EscrowAccounts, order: Order) -> None:
        """The seller's part is posted (the rest of the hold returns to escrow) and the
        refund leaves escrow for the buyer."""
        assert 0 < order.refund_minor < order.total_minor
        self._apply(
            "partial refund",
            [
                Transfer(
                    derived_id(order.id, "release"),
                    pending_id=derived_id(order.id, "hold"),
                    amount=order.seller_amount_minor,
                    user_data_128=order.id,
                    flags=TransferFlags.POST_PENDING_TRANSFER | TransferFlags.LINKED,
                ),
                self._refund(accounts, order, order.refund_minor),
            ],
        )

    @staticmethod
    def _refund(accounts: EscrowAccounts, order: Order, amount_minor: int) -> Transfer:
        return Transfer(
            derived_id(order.id, "refund"),
            accounts.escrow_account_id,
            accounts.collection_account_id,
            amount_minor,
            user_data_128=order.id,
            ledger=accounts.ledger_id,
            code=TRANSFER_CODE_REFUND,
        )

    def post_deductions(
        self,
        wallets: SellerWallets,
        order: Order,
        home_currency: str,
        deductions: Sequence[Deduction],
    ) -> None:
        """Each deduction from the seller's home-currency wallet to its payable account."""
        charged = [deduction for deduction in deductions if deduction.amount_minor > 0]
        if not charged:
            return
        seller = wallets.account_id(order.business_id, home_currency)
        ledger_id = self.ledger.get_account(seller).ledger
        self._open(
            [
                Account(payable_account_id(kind, ledger_id), ledger_id, account_code)
                for kind, (account_code, _) in _DEDUCTION_CODES.items()
            ]
        )
        transfers = [
            Transfer(
                derived_id(order.id, f"deduction:{deduction.kind.value}"),
                seller,
                payable_account_id(deduction.kind, ledger_id),
                deduction.amount_minor,
                user_data_128=order.id,
                user_data_32=deduction.basis_points,
                ledger=ledger_id,
                code=_DEDUCTION_CODES[deduction.kind][1],
                # All or none: a half-deducted realisation would be wrong on both sides.
                flags=TransferFlags.LINKED if index < len(charged) - 1 else TransferFlags.NONE,
            )
            for index, deduction in enumerate(charged)
        ]
        self._apply("deductions", transfers)
