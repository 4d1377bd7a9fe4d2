"""Sponsored participants (indirect, direct non-settlement) settle in their sponsor's account.

Raast: only direct settlement participants hold funds at SBP. An indirect participant's
payments reserve, post and void against its sponsor's settlement account, within the
sponsor's liquidity and net debit cap, and the sponsor's suspension stops them.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from tijarat.bootstrap import Container, alembic_config
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.ledger.model import Account, AccountFlags, Transfer
from tijarat.switch import iso20022 as iso
from tijarat.switch import qr, store
from tijarat.switch.model import (
    ACCOUNT_CODE_SETTLEMENT,
    TRANSFER_CODE_FUND_IN,
    CreditTransfer,
    ParticipantCategory,
    ParticipantStatus,
    PayeeDecision,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.payments import Payments
from tijarat.switch.requests import RequestStatus
from tijarat.switch.service import HUB_NAMESPACE, SwitchService

DIRECT = ParticipantCategory.DIRECT_SETTLEMENT
INDIRECT = ParticipantCategory.INDIRECT
ACCEPT = PayeeDecision(accept=True)
SPONSOR, SMALL, OTHER = "MEZNPKKA", "SMALLBNK", "HABBPKKA"
FUNDS = 100_000_00


@pytest.fixture
def hub(container: Container) -> Container:
    """Meezan sponsors Small Bank (indirect); Habib is another direct participant."""
    switch = container.switch
    switch.register_participant(SPONSOR, "Meezan", DIRECT, bank_code="MEZN")
    switch.register_participant(OTHER, "Habib", DIRECT, bank_code="HABB")
    switch.register_participant(SMALL, "Small", INDIRECT, bank_code="SMAL", sponsor_code=SPONSOR)
    switch.fund(SPONSOR, Money(FUNDS, "PKR"), uuid.uuid4())
    switch.fund(OTHER, Money(FUNDS, "PKR"), uuid.uuid4())
    for code in (SPONSOR, OTHER, SMALL):
        container.payments.connect(code, lambda _payment: ACCEPT)
    return container


def transfer(debtor_bank: str, creditor_bank: str, amount: int) -> CreditTransfer:
    tag = uuid.uuid4().hex[:20]
    return CreditTransfer(
        msg_id=f"M{tag}",
        end_to_end_id=f"E{tag}",
        tx_id=f"T{tag}",
        uetr=uuid.uuid4(),
        amount_minor=amount,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban=make_pk_iban(debtor_bank, "1").compact,
        creditor_iban=make_pk_iban(creditor_bank, "2").compact,
        creditor_name="Gilgit Gems",
    )


def pay(hub: Container, payer: str, payee: str, amount: int) -> Any:
    banks = {SPONSOR: "MEZN", OTHER: "HABB", SMALL: "SMAL"}
    return hub.payments.submit(payer, transfer(banks[payer], banks[payee], amount))


def available(hub: Container, code: str) -> int:
    return hub.switch.liquidity(code).amount_minor


def test_an_indirect_participant_settles_in_its_sponsors_account(hub: Container) -> None:
    switch = hub.switch
    small, sponsor = switch.participant(SMALL), switch.participant(SPONSOR)
    assert small.settlement_account_id == sponsor.settlement_account_id
    assert available(hub, SMALL) == available(hub, SPONSOR) == FUNDS  # the sponsor's
    sent = pay(hub, SMALL, OTHER, 30_000_00)  # was AM04: its own account was empty
    assert (sent.status, sent.reason) == (PaymentStatus.SETTLED, None)
    assert available(hub, SPONSOR) == FUNDS - 30_000_00
    received = pay(hub, OTHER, SMALL, 5_000_00)
    assert received.status is PaymentStatus.SETTLED
    assert available(hub, SPONSOR) == FUNDS - 25_000_00
    # Within the sponsor's liquidity, whoever of the two uses it.
    refused = pay(hub, SMALL, OTHER, FUNDS)
    assert (refused.status, refused.reason) == (PaymentStatus.REJECTED, ReasonCode.AM04)
    # A return by the indirect participant comes out of the sponsor's account too.
    hub.payments.return_payment(SMALL, received.id, 2_000_00, ReasonCode.MD06, uuid.uuid4())
    assert available(hub, SPONSOR) == FUNDS - 27_000_00
    assert available(hub, OTHER) == FUNDS + 27_000_00
    assert hub.ledger.verify().ok


def test_grouped_bulk_qr_and_request_to_pay_use_the_sponsors_account(hub: Container) -> None:
    answers = hub.payments.submit_many(
        [(SMALL, transfer("SMAL", "HABB", 1_000_00)), (OTHER, transfer("HABB", "SMAL", 500_00))]
    )
    assert [getattr(a, "status", a) for a in answers] == [PaymentStatus.SETTLED] * 2
    bulk = hub.bulk.submit(SMALL, [transfer("SMAL", "HABB", 2_000_00)])
    assert [p.status for p in bulk.payments] == [PaymentStatus.SETTLED]
    code = qr.build(
        qr.MerchantQr(
            account=make_pk_iban("HABB", "7"),
            merchant_name="Ali Raza Dyes",
            merchant_city="Karachi",
            merchant_category_code="5999",
        )
    )
    paid = hub.payments.pay_qr(
        SMALL,
        code,
        ids=("M" + uuid.uuid4().hex[:20], "E" + uuid.uuid4().hex[:20], "T1", uuid.uuid4()),
        debtor_name="Skardu Crafts",
        debtor_iban=make_pk_iban("SMAL", "1").compact,
        amount_minor=700_00,
    )
    assert paid.status is PaymentStatus.SETTLED
    hub.switch.link_alias(
        SMALL, "03111234567", make_pk_iban("SMAL", "5").compact, "35202-7654321-3", "Sana Baig"
    )
    request = hub.requests.request(
        OTHER,
        debtor_alias="03111234567",
        amount_minor=300_00,
        creditor_name="Karachi Wool Co",
        creditor_iban=make_pk_iban("HABB", "9").compact,
        expires_in_s=300,
    )
    accepted = hub.requests.accept(
        SMALL,
        request.id,
        debtor_name="Sana Baig",
        debtor_iban=make_pk_iban("SMAL", "5").compact,
        msg_id="M" + uuid.uuid4().hex[:20],
        uetr=uuid.uuid4(),
    )
    assert accepted.status is RequestStatus.PAID
    moved = 1_000_00 - 500_00 + 2_000_00 + 700_00 + 300_00
    assert available(hub, SPONSOR) == FUNDS - moved
    assert available(hub, OTHER) == FUNDS + moved
    assert hub.ledger.verify().ok


def test_payments_between_a_sponsor_and_its_indirect_are_on_us(hub: Container) -> None:
    switch = hub.switch
    on_us = switch.on_us_account_id
    for payer, payee in ((SPONSOR, SMALL), (SMALL, SPONSOR)):
        paid = pay(hub, payer, payee, 10_000_00)  # the ledger refuses account-to-itself
        assert (paid.status, paid.reason) == (PaymentStatus.SETTLED, None)
        assert available(hub, SPONSOR) == FUNDS
        assert hub.ledger.get_account(on_us).balance.net_credit_posted == 0
    # Its return moves nothing either; and a bulk file and a group the same.
    returned = hub.payments.return_payment(
        SPONSOR, paid.id, 1_000_00, ReasonCode.CUST, uuid.uuid4()
    )
    assert returned.returned_minor == 1_000_00
    bulk = hub.bulk.submit(SPONSOR, [transfer("MEZN", "SMAL", 2_000_00)])
    assert [p.status for p in bulk.payments] == [PaymentStatus.SETTLED]
    grouped = hub.payments.submit_many([(SMALL, transfer("SMAL", "MEZN", 3_000_00))])
    assert [getattr(a, "status", a) for a in grouped] == [PaymentStatus.SETTLED]
    assert available(hub, SPONSOR) == FUNDS
    assert hub.ledger.verify().ok


def test_the_sponsors_suspension_stops_its_indirect_participant(hub: Container) -> None:
    switch = hub.switch
    switch.set_status(SPONSOR, ParticipantStatus.SUSPENDED)
    assert switch.participant(SMALL).status is ParticipantStatus.SPONSOR_SUSPENDED
    with pytest.raises(DomainError) as stopped:
        pay(hub, SMALL, OTHER, 1_00)
    assert (stopped.value.code, stopped.value.status) == ("switch_participant_suspended", 403)
    assert "sponsor" in stopped.value.message
    with pytest.raises(DomainError):
        hub.bulk.submit(SMALL, [transfer("SMAL", "HABB", 1_00)])
    with pytest.raises(DomainError):
        switch.lookup_alias(SMALL, "03001234567")
    to_small = pay(hub, OTHER, SMALL, 1_00)
    assert (to_small.status, to_small.reason) == (PaymentStatus.REJECTED, ReasonCode.AG01)
    # Reactivating it alone does not let it settle while its sponsor is suspended.
    assert switch.set_status(SMALL, ParticipantStatus.ACTIVE).status is (
        ParticipantStatus.SPONSOR_SUSPENDED
    )
    with pytest.raises(DomainError) as by_hand:
        switch.set_status(SMALL, ParticipantStatus.SPONSOR_SUSPENDED)
    assert by_hand.value.code == "switch_participant_invalid"
    # Registered under a suspended sponsor: stopped from the start.
    late, _ = switch.register_participant(
        "LATEBANK", "Late", INDIRECT, bank_code="LATE", sponsor_code=SPONSOR
    )
    assert late.status is ParticipantStatus.SPONSOR_SUSPENDED
    switch.set_status(SPONSOR, ParticipantStatus.ACTIVE)
    assert switch.participant(SMALL).active
    assert switch.participant("LATEBANK").active
    assert pay(hub, SMALL, OTHER, 1_00).status is PaymentStatus.SETTLED
    # One suspended in its own right stays suspended when its sponsor comes back.
    switch.set_status(SMALL, ParticipantStatus.SUSPENDED)
    switch.set_status(SPONSOR, ParticipantStatus.SUSPENDED)
    switch.set_status(SPONSOR, ParticipantStatus.ACTIVE)
    assert switch.participant(SMALL).status is ParticipantStatus.SUSPENDED


def test_a_sponsor_suspended_elsewhere_stops_payments_planned_on_a_stale_cache(
    hub: Container,
) -> None:
    """Another process cached the indirect participant active: the guarded insert of the
    payment row re-reads its status, which carries the sponsor's."""
    elsewhere = Payments(SwitchService(hub.engine, hub.ledger, hub.clock))
    elsewhere.connect(OTHER, lambda _payment: ACCEPT)
    elsewhere.connect(SMALL, lambda _payment: ACCEPT)
    assert elsewhere.submit(SMALL, transfer("SMAL", "HABB", 1_00)).status is PaymentStatus.SETTLED
    assert elsewhere.submit(OTHER, transfer("HABB", "SMAL", 1_00)).status is PaymentStatus.SETTLED
    hub.switch.set_status(SPONSOR, ParticipantStatus.SUSPENDED)
    with pytest.raises(DomainError) as stopped:
        elsewhere.submit(SMALL, transfer("SMAL", "HABB", 1_00))
    assert stopped.value.code == "switch_participant_suspended"
    to_small = elsewhere.submit(OTHER, transfer("HABB", "SMAL", 1_00))
    assert (to_small.status, to_small.reason) == (PaymentStatus.REJECTED, ReasonCode.AG01)
    grouped = elsewhere.submit_many([(OTHER, transfer("HABB", "SMAL", 1_00))])
    assert [getattr(g, "reason", g) for g in grouped] == [ReasonCode.AG01]


def test_funds_in_and_out_name_the_sponsor(hub: Container) -> None:
    for move in (hub.switch.fund, hub.switch.defund):
        with pytest.raises(DomainError) as refused:
            move(SMALL, Money(1_00, "PKR"), uuid.uuid4())
        assert refused.value.code == "switch_participant_invalid"
        assert refused.value.fields["sponsor_code"] == SPONSOR
    assert available(hub, SPONSOR) == FUNDS


def test_the_sponsors_net_debit_cap_counts_its_indirect_participants(hub: Container) -> None:
    switch = hub.switch
    switch.set_net_debit_cap(SPONSOR, 50_000_00)
    assert pay(hub, SMALL, OTHER, 40_000_00).status is PaymentStatus.SETTLED
    beyond = pay(hub, SPONSOR, OTHER, 20_000_00)  # 40,000 sent already from the account
    assert (beyond.status, beyond.reason) == (PaymentStatus.REJECTED, ReasonCode.AM23)
    also = pay(hub, SMALL, OTHER, 20_000_00)
    assert also.reason is ReasonCode.AM23
    assert switch.net_debit_room(switch.participant(SPONSOR)) == 10_000_00
    assert switch.net_debit_room(switch.participant(SMALL)) == 10_000_00
    bulk = hub.bulk.submit(SMALL, [transfer("SMAL", "HABB", 6_000_00) for _ in range(2)])
    assert [p.reason for p in bulk.payments] == [None, ReasonCode.AM23]
    # Payments within the account (on us) net out once settled.
    assert pay(hub, SPONSOR, SMALL, 4_000_00).status is PaymentStatus.SETTLED
    assert switch.net_debit_room(switch.participant(SPONSOR)) == 4_000_00
    with pytest.raises(DomainError) as own_cap:
        switch.set_net_debit_cap(SMALL, 1_00)
    assert own_cap.value.fields["sponsor_code"] == SPONSOR


def test_a_cap_changed_elsewhere_holds_for_the_indirect_participant(hub: Container) -> None:
    elsewhere = Payments(SwitchService(hub.engine, hub.ledger, hub.clock))
    elsewhere.connect(OTHER, lambda _payment: ACCEPT)
    assert elsewhere.submit(SMALL, transfer("SMAL", "HABB", 1_00)).status is PaymentStatus.SETTLED
    hub.switch.set_net_debit_cap(SPONSOR, 1_000_00)  # the other process cached "uncapped"
    beyond = elsewhere.submit(SMALL, transfer("SMAL", "HABB", 2_000_00))
    assert (beyond.status, beyond.reason) == (PaymentStatus.REJECTED, ReasonCode.AM23)
    # Registered after the cap was set: it carries it from the start.
    hub.switch.register_participant(
        "NEWBANK1", "New", INDIRECT, bank_code="NEWB", sponsor_code=SPONSOR
    )
    assert hub.switch.net_debit_cap_cached(hub.switch.participant("NEWBANK1").id) == 1_000_00


def test_settlement_reports_of_a_sponsor_and_its_indirect_participant(
    hub: Container, clock: ManualClock
) -> None:
    start = clock.now_ns()
    pay(hub, SMALL, OTHER, 3_000_00)
    pay(hub, OTHER, SMALL, 1_000_00)
    pay(hub, SPONSOR, OTHER, 500_00)
    pay(hub, SPONSOR, SMALL, 200_00)
    returned = pay(hub, OTHER, SMALL, 400_00)
    hub.payments.return_payment(SMALL, returned.id, 100_00, ReasonCode.CUST, uuid.uuid4())
    hub.switch.fund(SPONSOR, Money(7_00, "PKR"), uuid.uuid4())
    end = clock.now_ns() + 10**12
    small = hub.payments.settlement_report(SMALL, start, end)
    assert (small.sent_count, small.sent_minor) == (1, 3_000_00)
    assert (small.received_count, small.received_minor) == (3, 1_600_00)
    assert (small.returned_out_minor, small.returned_in_minor, small.funded_minor) == (100_00, 0, 0)
    whole = hub.payments.settlement_report(SPONSOR, start, end)
    assert (whole.sent_count, whole.sent_minor) == (3, 3_700_00)
    assert (whole.received_count, whole.received_minor) == (3, 1_600_00)
    assert whole.closing_minor == whole.opening_minor + (
        whole.received_minor
        - whole.sent_minor
        - whole.returned_out_minor
        + whole.returned_in_minor
        + whole.funded_minor
    )
    assert (small.opening_minor, small.closing_minor) == (whole.opening_minor, whole.closing_minor)


def test_an_indirect_participants_camt053_shows_its_own_entries_only(
    hub: Container, clock: ManualClock
) -> None:
    clock.advance(seconds=1)  # after the fixture's funding
    start = clock.now_ns()
    mine = pay(hub, SMALL, OTHER, 3_000_00)
    pay(hub, SPONSOR, OTHER, 500_00)  # the sponsor's own: not the indirect participant's
    hub.switch.fund(SPONSOR, Money(7_00, "PKR"), uuid.uuid4())
    end = clock.now_ns() + 10**12
    small = hub.switch.participant(SMALL)
    body = hub.gateway.settlement_statement(small, start, end)
    statement = iso.parse_envelope(body).document
    assert isinstance(statement, iso.BankToCustomerStatement)
    (account,) = statement.statements
    assert [(e.amount.amount_minor, e.uetr) for e in account.entries] == [
        (-3_000_00, mine.request.uetr)
    ]
    sponsor = hub.gateway.settlement_statement(hub.switch.participant(SPONSOR), start, end)
    whole = iso.parse_envelope(sponsor).document
    assert isinstance(whole, iso.BankToCustomerStatement)
    assert len(whole.statements[0].entries) == 3  # both payments and the funds in


def test_direct_non_settlement_participants_need_a_sponsor_too(hub: Container) -> None:
    switch = hub.switch
    with pytest.raises(DomainError) as missing:
        switch.register_participant(
            "DNSBANK1", "DNS", ParticipantCategory.DIRECT_NON_SETTLEMENT, bank_code="DNSB"
        )
    assert missing.value.code == "switch_sponsor_required"
    dns, _ = switch.register_participant(
        "DNSBANK1",
        "DNS",
        ParticipantCategory.DIRECT_NON_SETTLEMENT,
        bank_code="DNSB",
        sponsor_code=SPONSOR,
    )
    assert dns.settlement_account_id == switch.participant(SPONSOR).settlement_account_id
    with pytest.raises(DomainError) as not_sponsored:
        switch.register_participant(
            "DIRECT01", "Direct", DIRECT, bank_code="DIRB", sponsor_code=SPONSOR
        )
    assert not_sponsored.value.code == "switch_participant_invalid"


# ---------------------------------------------------------------------------- migration 0017
BEFORE = "0016_switch_request_origin"


def _make_legacy(hub: Container) -> tuple[uuid.UUID, uuid.UUID]:
    """Small Bank as registered before 0017: a settlement account of its own, and a cap."""
    switch = hub.switch
    small = switch.participant(SMALL)
    own = uuid.uuid5(HUB_NAMESPACE, f"settlement:{small.id}")
    (created,) = hub.ledger.create_accounts(
        [
            Account(
                own,
                switch.hub_ledger,
                ACCOUNT_CODE_SETTLEMENT,
                AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                owner_id=small.id,
            )
        ]
    )
    assert created == "ok"
    table = store.participants_table
    with hub.engine.begin() as connection:
        connection.execute(
            table.update().where(table.c.id == small.id).values(settlement_account_id=own)
        )
        connection.execute(
            store.net_debit_caps_table.insert().values(
                participant_id=small.id, cap_minor=9_00, updated_at=0
            )
        )
    return small.id, own


def _account_of(hub: Container, participant_id: uuid.UUID) -> uuid.UUID:
    table = store.participants_table
    with hub.engine.connect() as connection:
        found: uuid.UUID = connection.execute(
            sa.select(table.c.settlement_account_id).where(table.c.id == participant_id)
        ).scalar_one()
    return found


def test_the_migration_moves_idle_indirect_participants_onto_their_sponsor(
    hub: Container,
) -> None:
    small_id, own = _make_legacy(hub)
    hub.switch.set_net_debit_cap(SPONSOR, 70_000_00)
    hub.switch.set_status(SPONSOR, ParticipantStatus.SUSPENDED)
    config = alembic_config(hub.engine)
    command.downgrade(config, BEFORE)
    with hub.engine.begin() as connection:  # as the old code left them
        connection.execute(
            store.participants_table.update()
            .where(store.participants_table.c.id == small_id)
            .values(settlement_account_id=own, status="active")
        )
    command.upgrade(config, "head")
    hub.switch.forget_cached()
    small = hub.switch.participant(SMALL)
    assert small.settlement_account_id == hub.switch.participant(SPONSOR).settlement_account_id
    assert small.status is ParticipantStatus.SPONSOR_SUSPENDED
    assert hub.switch.net_debit_cap_cached(small_id) == 70_000_00
    # Back down: its own (empty) account again, stopped as suspended.
    command.downgrade(config, BEFORE)
    assert _account_of(hub, small_id) == own
    command.upgrade(config, "head")


def test_the_migration_stops_at_an_indirect_participant_holding_funds(hub: Container) -> None:
    _, own = _make_legacy(hub)
    (moved,) = hub.ledger.create_transfers(
        [
            Transfer(
                uuid.uuid4(),
                hub.switch.funding_account_id,
                own,
                5_00,
                ledger=hub.switch.hub_ledger,
                code=TRANSFER_CODE_FUND_IN,
            )
        ]
    )
    assert moved.name == "OK"
    config = alembic_config(hub.engine)
    command.downgrade(config, BEFORE)
    with pytest.raises(RuntimeError, match=SMALL):
        command.upgrade(config, "head")


def test_a_downgrade_refuses_to_strand_a_participant_registered_since(hub: Container) -> None:
    """Registered under 0017, it has no account of its own: the old code would fund, defund
    and pay from its sponsor's account under its name. The downgrade names it and stops."""
    config = alembic_config(hub.engine)
    with pytest.raises(RuntimeError, match=SMALL):
        command.downgrade(config, BEFORE)
    assert _account_of(hub, hub.switch.participant(SMALL).id) == _account_of(
        hub, hub.switch.participant(SPONSOR).id
    )
