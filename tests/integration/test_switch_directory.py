"""Participants, liquidity and the alias directory (Raast ID) with Pix-style claims."""

from __future__ import annotations

import uuid

import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch.model import ParticipantCategory, ParticipantStatus
from tijarat.switch.service import SwitchService

DIRECT = ParticipantCategory.DIRECT_SETTLEMENT


def _code(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


@pytest.fixture
def hub(container: Container) -> SwitchService:
    switch = container.switch
    switch.register_participant("MEZNPKKA", "Meezan Bank", DIRECT, bank_code="MEZN")
    switch.register_participant("HABBPKKA", "Habib Bank", DIRECT, bank_code="HABB")
    switch.register_participant("SADAPAY", "SadaPay", DIRECT, bank_code="SADA")
    return switch


def iban(bank: str, n: int) -> str:
    return make_pk_iban(bank, str(n)).compact


def test_participants_register_with_a_secret_and_a_settlement_account(
    container: Container,
) -> None:
    switch = container.switch
    meezan, secret = switch.register_participant(
        "MEZNPKKA", "Meezan Bank", DIRECT, bank_code="mezn"
    )
    assert (meezan.code, meezan.bank_code, meezan.status) == (
        "MEZNPKKA",
        "MEZN",
        ParticipantStatus.ACTIVE,
    )
    assert switch.authenticate("MEZNPKKA", secret).id == meezan.id
    with pytest.raises(DomainError) as wrong:
        switch.authenticate("MEZNPKKA", secret + "x")
    assert _code(wrong) == "switch_unauthenticated"
    with pytest.raises(DomainError) as unknown:
        switch.authenticate("NOPE1234", secret)
    assert _code(unknown) == "switch_unauthenticated"
    account = container.ledger.get_account(meezan.settlement_account_id)
    assert account.owner_id == meezan.id
    pisp, _ = switch.register_participant(
        "FINJA01", "Finja", ParticipantCategory.PAYMENT_INITIATION
    )
    assert pisp.bank_code is None
    small, _ = switch.register_participant(
        "KHMFB01",
        "Khushhali MFB",
        ParticipantCategory.INDIRECT,
        bank_code="KHUS",
        sponsor_code="MEZNPKKA",
    )
    assert small.sponsor_id == meezan.id


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        (("MEZNPKKA", "Again", DIRECT, "ABCD", None), "switch_participant_exists"),
        (("OTHERBNK", "Other", DIRECT, "MEZN", None), "switch_bank_code_taken"),
        (("X!", "Bad code", DIRECT, "ABCD", None), "switch_participant_invalid"),
        (("NOBANK12", "No bank code", DIRECT, None, None), "switch_participant_invalid"),
        (
            ("PISP1234", "PISP", ParticipantCategory.PAYMENT_INITIATION, "ABCD", None),
            "switch_participant_invalid",
        ),
        (
            ("INDIRECT", "No sponsor", ParticipantCategory.INDIRECT, "ABCD", None),
            "switch_sponsor_required",
        ),
        (
            ("INDIRECT", "Bad sponsor", ParticipantCategory.INDIRECT, "ABCD", "NOPE1234"),
            "switch_participant_not_found",
        ),
    ],
)
def test_bad_registrations_are_refused_and_change_nothing(
    hub: SwitchService,
    arguments: tuple[str, str, ParticipantCategory, str | None, str | None],
    code: str,
) -> None:
    before = [p.code for p in hub.participants()]
    name, title, category, bank, sponsor = arguments
    with pytest.raises(DomainError) as refused:
        hub.register_participant(name, title, category, bank_code=bank, sponsor_code=sponsor)
    assert _code(refused) == code
    assert [p.code for p in hub.participants()] == before


def test_liquidity_is_prefunded_idempotent_and_never_negative(
    hub: SwitchService, container: Container
) -> None:
    request = uuid.uuid4()
    assert hub.fund("MEZNPKKA", Money(50_000_000, "PKR"), request) == Money(50_000_000, "PKR")
    # A retried funding request moves money once.
    assert hub.fund("MEZNPKKA", Money(50_000_000, "PKR"), request) == Money(50_000_000, "PKR")
    assert hub.defund("MEZNPKKA", Money(20_000_000, "PKR"), uuid.uuid4()) == Money(
        30_000_000, "PKR"
    )
    with pytest.raises(DomainError) as short:
        hub.defund("MEZNPKKA", Money(30_000_001, "PKR"), uuid.uuid4())
    assert _code(short) == "switch_insufficient_liquidity"
    assert short.value.fields["available_minor"] == 30_000_000
    for bad in (Money(0, "PKR"), Money(-5, "PKR"), Money(100, "USD")):
        with pytest.raises(DomainError) as invalid:
            hub.fund("MEZNPKKA", bad, uuid.uuid4())
        assert _code(invalid) == "switch_amount_invalid"
    assert hub.liquidity("MEZNPKKA") == Money(30_000_000, "PKR")
    assert container.ledger.verify().ok


def test_a_raast_id_links_once_per_number_and_per_cnic(hub: SwitchService) -> None:
    alias = hub.link_alias(
        "MEZNPKKA", "0300 1234567", iban("MEZN", 1), "35202-1234567-1", "Muhammad  Asif Khan"
    )
    assert (alias.number.e164, alias.account_title) == ("+923001234567", "Muhammad Asif Khan")
    cases = [
        (("MEZNPKKA", "+92 300 1234567", iban("MEZN", 2), "35202-7654321-1"), "switch_alias_taken"),
        (("MEZNPKKA", "03011234567", iban("MEZN", 3), "3520212345671"), "switch_cnic_has_alias"),
        (
            ("HABBPKKA", "03021234567", iban("MEZN", 4), "35202-1111111-1"),
            "switch_iban_not_owned_by_participant",
        ),
        (
            ("HABBPKKA", "+1 212 555 0100", iban("HABB", 5), "35202-2222222-1"),
            "invalid_mobile_number",
        ),
        (
            ("HABBPKKA", "03031234567", "PK00MEZN0000000000000001", "35202-3333333-1"),
            "invalid_iban",
        ),
        (("HABBPKKA", "03041234567", iban("HABB", 6), "123"), "invalid_cnic"),
    ]
    for (participant, number, account, cnic), code in cases:
        with pytest.raises(DomainError) as refused:
            hub.link_alias(participant, number, account, cnic, "Someone")
        assert _code(refused) == code, (number, code)
    assert [e.action for e in hub.audit("03001234567")] == ["linked"]


def test_lookup_masks_the_title_and_shows_the_iban_only_to_the_holder(
    hub: SwitchService,
) -> None:
    hub.link_alias(
        "MEZNPKKA", "03001234567", iban("MEZN", 1), "35202-1234567-1", "Muhammad Asif Khan"
    )
    seen_by_other = hub.lookup_alias("HABBPKKA", "0300-1234567")
    assert seen_by_other.participant_code == "MEZNPKKA"
    assert seen_by_other.masked_title == "MUH*** AS*** KHAN"
    assert seen_by_other.iban is None
    assert hub.lookup_alias("MEZNPKKA", "03001234567").iban == iban("MEZN", 1)
    with pytest.raises(DomainError) as missing:
        hub.lookup_alias("HABBPKKA", "03009999999")
    assert _code(missing) == "switch_alias_not_found"


def test_lookups_are_rate_limited_per_participant_misses_included(
    hub: SwitchService, clock: ManualClock
) -> None:
    hub.lookups_per_minute = 3
    hub.link_alias("MEZNPKKA", "03001234567", iban("MEZN", 1), "35202-1234567-1", "Asif Khan")
    hub.lookup_alias("HABBPKKA", "03001234567")  # one hit, then two misses
    for number in ("03009999991", "03009999992"):
        with pytest.raises(DomainError) as miss:
            hub.lookup_alias("HABBPKKA", number)
        assert _code(miss) == "switch_alias_not_found"
    with pytest.raises(DomainError) as limited:
        hub.lookup_alias("HABBPKKA", "03001234567")
    assert _code(limited) == "switch_lookup_rate_limited"
    assert limited.value.status == 429
    assert (
        hub.lookup_alias("SADAPAY", "03001234567").participant_code == "MEZNPKKA"
    )  # per participant
    clock.advance(seconds=60)
    assert hub.lookup_alias("HABBPKKA", "03001234567").participant_code == "MEZNPKKA"


def test_a_suspended_participant_cannot_link_or_look_up(hub: SwitchService) -> None:
    hub.set_status("HABBPKKA", ParticipantStatus.SUSPENDED)
    with pytest.raises(DomainError) as link:
        hub.link_alias("HABBPKKA", "03021234567", iban("HABB", 1), "35202-1234567-1", "A B")
    with pytest.raises(DomainError) as lookup:
        hub.lookup_alias("HABBPKKA", "03021234567")
    assert _code(link) == _code(lookup) == "switch_participant_suspended"
    hub.set_status("HABBPKKA", ParticipantStatus.ACTIVE)
    assert hub.link_alias("HABBPKKA", "03021234567", iban("HABB", 1), "35202-1234567-1", "A B")


def test_only_the_holder_unlinks(hub: SwitchService) -> None:
    hub.link_alias("MEZNPKKA", "03001234567", iban("MEZN", 1), "35202-1234567-1", "Asif Khan")
    with pytest.raises(DomainError) as stranger:
        hub.unlink_alias("HABBPKKA", "03001234567")
    assert _code(stranger) == "switch_not_alias_owner"
    hub.unlink_alias("MEZNPKKA", "03001234567")
    with pytest.raises(DomainError) as gone:
        hub.alias("03001234567")
    assert _code(gone) == "switch_alias_not_found"
    # The number and the CNIC are free again.
    hub.link_alias("HABBPKKA", "03001234567", iban("HABB", 1), "35202-1234567-1", "Asif Khan")
    assert [e.action for e in hub.audit("03001234567")] == ["linked", "unlinked", "linked"]


def test_a_claim_confirmed_at_the_donor_moves_the_alias(hub: SwitchService) -> None:
    hub.link_alias("MEZNPKKA", "03001234567", iban("MEZN", 1), "35202-1234567-1", "Asif Khan")
    claim = hub.open_claim("SADAPAY", "03001234567", iban("SADA", 9), "Asif Khan")
    assert claim.status == "open"
    # Until the customer confirms, the alias stays with the donor.
    assert hub.lookup_alias("HABBPKKA", "03001234567").participant_code == "MEZNPKKA"
    with pytest.raises(DomainError) as second:
        hub.open_claim("HABBPKKA", "03001234567", iban("HABB", 1), "Asif Khan")
    assert _code(second) == "switch_claim_already_open"
    with pytest.raises(DomainError) as not_donor:
        hub.confirm_claim("HABBPKKA", claim.id)
    assert _code(not_donor) == "switch_claim_not_found"
    moved = hub.confirm_claim("MEZNPKKA", claim.id)
    assert moved.iban.compact == iban("SADA", 9)
    assert hub.lookup_alias("HABBPKKA", "03001234567").participant_code == "SADAPAY"
    assert hub.claim(claim.id).status == "completed"
    with pytest.raises(DomainError) as twice:
        hub.confirm_claim("MEZNPKKA", claim.id)
    assert _code(twice) == "switch_claim_not_open"
    assert [e.action for e in hub.audit("03001234567")] == [
        "linked",
        "claim_opened",
        "claim_completed",
    ]


def test_claims_can_be_rejected_cancelled_or_complete_after_the_period(
    hub: SwitchService, clock: ManualClock
) -> None:
    hub.link_alias("MEZNPKKA", "03001234567", iban("MEZN", 1), "35202-1234567-1", "Asif Khan")
    rejected = hub.open_claim("SADAPAY", "03001234567", iban("SADA", 9), "Asif Khan")
    assert hub.reject_claim("MEZNPKKA", rejected.id).status == "rejected"
    cancelled = hub.open_claim("SADAPAY", "03001234567", iban("SADA", 9), "Asif Khan")
    assert hub.cancel_claim("SADAPAY", cancelled.id).status == "cancelled"
    assert hub.alias("03001234567").participant_id == hub.participant("MEZNPKKA").id
    waiting = hub.open_claim("HABBPKKA", "03001234567", iban("HABB", 3), "Asif Khan")
    clock.advance(seconds=hub.claim_resolution_s - 1)
    assert hub.complete_due_claims() == 0
    clock.advance(seconds=1)
    assert hub.complete_due_claims() == 1
    assert hub.alias("03001234567").participant_id == hub.participant("HABBPKKA").id
    assert hub.claim(waiting.id).status == "completed"
    with pytest.raises(DomainError) as own:
        hub.open_claim("HABBPKKA", "03001234567", iban("HABB", 4), "Asif Khan")
    assert _code(own) == "switch_claim_same_participant"
