"""Request to pay: asked by the creditor's institution, answered by the debtor's."""

from __future__ import annotations

import uuid

import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch.model import (
    ParticipantCategory,
    PayeeDecision,
    PaymentStatus,
    ReasonCode,
    RequestStatus,
)
from tijarat.switch.requests import PaymentRequests, attempt_end_to_end_id, attempt_of


@pytest.fixture
def rtp(container: Container) -> PaymentRequests:
    switch = container.switch
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB")):
        switch.register_participant(
            code, code.title(), ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
        switch.fund(code, Money(100_000_00, "PKR"), uuid.uuid4())
    # The customer (debtor) banks at Meezan; the merchant (creditor) at Habib.
    switch.link_alias(
        "MEZNPKKA", "03111234567", make_pk_iban("MEZN", "5").compact, "35202-7654321-3", "Sana Baig"
    )
    container.payments.connect("HABBPKKA", lambda payment: PayeeDecision(accept=True))
    return container.requests


def ask(rtp: PaymentRequests, amount: int = 4_500_00, expires_in_s: int = 300) -> uuid.UUID:
    request = rtp.request(
        "HABBPKKA",
        debtor_alias="0311 1234567",
        amount_minor=amount,
        creditor_name="Karachi Wool Co",
        creditor_iban=make_pk_iban("HABB", "9").compact,
        reference="PO-1001",
        expires_in_s=expires_in_s,
    )
    assert request.status is RequestStatus.OPEN
    return request.id


def accept(rtp: PaymentRequests, request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return rtp.accept(
        "MEZNPKKA",
        request_id,
        debtor_name="Sana Baig",
        debtor_iban=make_pk_iban("MEZN", "5").compact,
        msg_id="M" + uuid.uuid4().hex[:20],
        uetr=uuid.uuid4(),
    )


def test_an_accepted_request_is_paid_once(rtp: PaymentRequests, container: Container) -> None:
    request_id = ask(rtp)
    assert [r.id for r in rtp.inbox("MEZNPKKA")] == [request_id]
    assert rtp.inbox("HABBPKKA") == []
    paid = accept(rtp, request_id)
    assert paid.status is RequestStatus.PAID
    payment = container.payments.payment(paid.payment_id)  # type: ignore[arg-type]
    assert (payment.status, payment.request.remittance_information) == (
        PaymentStatus.SETTLED,
        "PO-1001",
    )
    assert container.switch.liquidity("HABBPKKA") == Money(104_500_00, "PKR")
    with pytest.raises(DomainError) as again:
        accept(rtp, request_id)
    assert again.value.code == "switch_request_not_open"
    assert container.ledger.verify().ok


def test_rejected_expired_and_unfunded_requests(
    rtp: PaymentRequests, container: Container, clock: ManualClock
) -> None:
    refused = ask(rtp)
    assert rtp.reject("MEZNPKKA", refused, ReasonCode.CUST).status is RequestStatus.REJECTED
    late = ask(rtp, expires_in_s=60)
    clock.advance(seconds=60)
    with pytest.raises(DomainError) as expired:
        accept(rtp, late)
    assert expired.value.code == "switch_request_not_open"
    assert rtp.get(late).status is RequestStatus.EXPIRED
    too_big = ask(rtp, amount=200_000_00)  # more than Meezan's liquidity
    answered = accept(rtp, too_big)
    assert (answered.status, answered.reason) == (RequestStatus.OPEN, ReasonCode.AM04)
    with pytest.raises(DomainError) as stranger:
        rtp.reject("HABBPKKA", too_big)
    assert stranger.value.code == "switch_request_not_found"
    assert container.switch.liquidity("MEZNPKKA") == Money(100_000_00, "PKR")


def test_bad_requests_are_refused(rtp: PaymentRequests) -> None:
    base = {
        "debtor_alias": "03111234567",
        "amount_minor": 100,
        "creditor_name": "Shop",
        "creditor_iban": make_pk_iban("HABB", "9").compact,
        "expires_in_s": 60,
    }
    for changes, code in (
        ({"amount_minor": 0}, "switch_request_invalid"),
        ({"expires_in_s": 0}, "switch_request_invalid"),
        ({"creditor_alias": "03001234567"}, "switch_request_invalid"),  # two creditors
        ({"debtor_alias": "03009999999"}, "switch_alias_not_found"),
        ({"creditor_iban": "PK00XXXX"}, "invalid_iban"),
    ):
        with pytest.raises(DomainError) as refused:
            rtp.request("HABBPKKA", **{**base, **changes})  # type: ignore[arg-type]
        assert refused.value.code == code, changes


def test_a_request_refused_for_funds_is_paid_when_accepted_again_with_funds(
    rtp: PaymentRequests, container: Container
) -> None:
    """A refused payment spends its ids: accepting again is a new payment ("-1", "-2"...),
    not the refused one answered back (which left the request unpayable)."""
    request_id = ask(rtp, amount=150_000_00)  # more than Meezan's 100,000 of liquidity
    refused = accept(rtp, request_id)
    assert (refused.status, refused.reason) == (RequestStatus.OPEN, ReasonCode.AM04)
    again = rtp.accept_linked("MEZNPKKA", request_id)  # still short: a second refusal
    assert (again.status, again.reason) == (RequestStatus.OPEN, ReasonCode.AM04)
    assert again.payment_id != refused.payment_id
    container.switch.fund("MEZNPKKA", Money(100_000_00, "PKR"), uuid.uuid4())
    paid = rtp.accept_linked("MEZNPKKA", request_id)
    assert paid.status is RequestStatus.PAID
    with pytest.raises(DomainError) as once:
        rtp.accept_linked("MEZNPKKA", request_id)
    assert once.value.code == "switch_request_not_open"  # paid once
    payments = [
        container.payments.payment(p)  # type: ignore[arg-type]
        for p in (refused.payment_id, again.payment_id, paid.payment_id)
    ]
    assert [p.request.end_to_end_id for p in payments] == [
        request_id.hex,
        f"{request_id.hex}-1",
        f"{request_id.hex}-2",
    ]
    assert [p.status for p in payments] == [
        PaymentStatus.REJECTED,
        PaymentStatus.REJECTED,
        PaymentStatus.SETTLED,
    ]
    assert container.switch.liquidity("HABBPKKA") == Money(250_000_00, "PKR")
    assert container.switch.liquidity("MEZNPKKA") == Money(50_000_00, "PKR")
    assert container.ledger.verify().ok


def test_attempt_ids_name_each_try_within_35_characters() -> None:
    request_id = uuid.uuid4()
    for attempt in (0, 1, 9, 10, 99):
        text = attempt_end_to_end_id(request_id, attempt)
        assert len(text) <= 35
        assert attempt_of(request_id, text) == attempt
    with pytest.raises(DomainError):
        attempt_end_to_end_id(request_id, 100)


def test_a_retried_accept_is_answered_and_a_racing_one_cannot_undo_the_payment(
    rtp: PaymentRequests, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = ask(rtp, amount=150_000_00)  # more than Meezan's liquidity: refused
    refused = rtp.accept_linked("MEZNPKKA", request_id, msg_id="ACCP-0")
    assert refused.reason is ReasonCode.AM04
    container.switch.fund("MEZNPKKA", Money(100_000_00, "PKR"), uuid.uuid4())
    # The same pain.014 again (same MsgId) is a retry: answered as it stands, no new try.
    retried = rtp.accept_linked("MEZNPKKA", request_id, msg_id="ACCP-0")
    assert (retried.payment_id, retried.reason) == (refused.payment_id, ReasonCode.AM04)
    # Two accepts at once: B read the request before A's payment was recorded.
    stale = rtp.get(request_id)
    paid = rtp.accept_linked("MEZNPKKA", request_id, msg_id="ACCP-A")
    assert paid.status is RequestStatus.PAID
    monkeypatch.setattr(rtp, "_open", lambda _code, _id: stale)
    with pytest.raises(DomainError) as late:
        rtp.accept_linked("MEZNPKKA", request_id, msg_id="ACCP-B")
    assert late.value.code == "switch_request_not_open"  # "the request is paid"
    monkeypatch.undo()
    now = rtp.get(request_id)
    assert (now.status, now.payment_id) == (RequestStatus.PAID, paid.payment_id)
    assert container.switch.liquidity("HABBPKKA") == Money(250_000_00, "PKR")  # paid once


def test_a_racing_accept_of_a_pending_attempt_points_at_that_payment(
    rtp: PaymentRequests, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's accept collides with A's payment still under way (the payee polls): B records
    A's payment, never the refusal of ids already used (which is stored nowhere)."""
    del container.payments.handlers["HABBPKKA"]  # it polls: payments wait for its answer
    request_id = ask(rtp)
    stale = rtp.get(request_id)
    first = rtp.accept_linked("MEZNPKKA", request_id, msg_id="ACCP-A")
    assert (first.status, first.reason) == (RequestStatus.OPEN, None)
    with monkeypatch.context() as patched:
        patched.setattr(rtp, "_open", lambda _code, _id: stale)
        second = rtp.accept_linked("MEZNPKKA", request_id, msg_id="ACCP-B")
    assert second.payment_id == first.payment_id
    assert first.payment_id is not None
    container.payments.answer("HABBPKKA", first.payment_id, PayeeDecision(accept=True))
    rtp.expire_due()  # the sweep: finish_due marks it paid
    assert rtp.get(request_id).status is RequestStatus.PAID
