"""Trade's pure rules: the order state machine, catalog checks, tracking, deadlines, deductions,
push signatures and message shapes."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from datetime import UTC, date, datetime

import pytest

from tijarat.kernel.clock import PAKISTAN, from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.trade.marketplace import parse_message, sign, signature_matches
from tijarat.trade.model import (
    DEFAULT_DEDUCTION_RATES,
    DEFAULT_REALISATION_DAYS,
    TRANSITIONS,
    DeductionKind,
    DeductionRate,
    Instrument,
    OrderStatus,
    Packing,
    PriceTier,
    Product,
    RealisationCase,
    TrackingStatus,
    check_export_details,
    check_product,
    check_transition,
    compute_deductions,
    format_hs_code,
    normalise_tracking_status,
    parse_hs_code,
    realisation_deadline,
)

S = OrderStatus
LEGAL = {
    (S.RECEIVED, S.CONFIRMED),
    (S.RECEIVED, S.CANCELLED),
    (S.CONFIRMED, S.AWAITING_PAYMENT),
    (S.CONFIRMED, S.CANCELLED),
    (S.AWAITING_PAYMENT, S.PAID),
    (S.AWAITING_PAYMENT, S.CANCELLED),
    (S.PAID, S.PACKED),
    (S.PAID, S.REFUNDED),
    (S.PACKED, S.SHIPPED),
    (S.PACKED, S.REFUNDED),
    (S.SHIPPED, S.DELIVERED),
    (S.SHIPPED, S.DISPUTED),
    (S.DELIVERED, S.COMPLETED),
    (S.DELIVERED, S.DISPUTED),
    (S.DISPUTED, S.COMPLETED),
    (S.DISPUTED, S.PARTIALLY_REFUNDED),
    (S.DISPUTED, S.REFUNDED),
}
ILLEGAL = sorted(set(itertools.product(OrderStatus, OrderStatus)) - LEGAL)
PACKING = Packing(1_000, 1_050, 20, 500, 400, 300)


# ---------------------------------------------------------------------------- state machine
def test_the_state_machine_is_exactly_the_documented_one() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL
    assert {status for status in OrderStatus if status.terminal} == {
        S.COMPLETED,
        S.CANCELLED,
        S.REFUNDED,
        S.PARTIALLY_REFUNDED,
    }


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transitions_pass(current: OrderStatus, target: OrderStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_a_clear_409(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(DomainError) as refused:
        check_transition(current, target)
    error = refused.value
    assert error.code == "trade_illegal_transition"
    assert error.status == 409
    assert error.fields["from"] == current.value
    assert error.fields["to"] == target.value
    assert current.value in error.message
    assert target.value in error.message


# ---------------------------------------------------------------------------- catalog
@pytest.mark.parametrize(
    ("text", "digits"),
    [("0813.10.00", "08131000"), ("0813.1000", "08131000"), ("62142000", "62142000")],
)
def test_hs_codes_are_eight_digit_pct_codes(text: str, digits: str) -> None:
    assert parse_hs_code(text) == digits
    assert parse_hs_code(format_hs_code(digits)) == digits
    assert format_hs_code("08131000") == "0813.10.00"


@pytest.mark.parametrize("text", ["081310", "0813.10", "7700.00.00", "9800.00.00", "ab13.10.00", 0])
def test_bad_hs_codes_are_refused(text: object) -> None:
    with pytest.raises(DomainError) as refused:
        parse_hs_code(text)
    assert refused.value.code == "trade_product_invalid"


def product(*tiers: PriceTier, moq: int = 100) -> Product:
    return Product(uuid.uuid4(), "APR", "Apricots", "08131000", "kg", moq, PACKING, tiers, 0, 0)


def test_tier_prices_follow_the_quantity() -> None:
    apricots = product(
        PriceTier("USD", 100, 650), PriceTier("USD", 500, 590), PriceTier("USD", 2_000, 520)
    )
    assert apricots.unit_price("USD", 100) == Money(650, "USD")
    assert apricots.unit_price("USD", 499) == Money(650, "USD")
    assert apricots.unit_price("USD", 500) == Money(590, "USD")
    assert apricots.unit_price("USD", 10_000) == Money(520, "USD")
    with pytest.raises(DomainError) as below:
        apricots.unit_price("USD", 99)
    assert below.value.code == "trade_below_minimum_order_quantity"
    with pytest.raises(DomainError) as no_price:
        apricots.unit_price("EUR", 500)
    assert no_price.value.code == "trade_price_missing"


def test_a_product_is_checked_field_by_field() -> None:
    tiers = [PriceTier("USD", 100, 650), PriceTier("USD", 500, 590)]
    sku, _, hs_code, unit, moq, sorted_tiers = check_product(
        "apr-dry-1kg", " Dried  apricots ", "0813.10.00", "kg", 100, PACKING, tiers
    )
    assert (sku, hs_code, unit, moq) == ("APR-DRY-1KG", "08131000", "kg", 100)
    assert [tier.minimum_quantity for tier in sorted_tiers] == [100, 500]
    bad = [
        ("", "x", "0813.10.00", "kg", 100, PACKING, tiers),  # no SKU
        ("A", "x", "0813.10.00", "tonne", 100, PACKING, tiers),  # unknown unit
        ("A", "x", "0813.10.00", "kg", 0, PACKING, tiers),  # MOQ 0
        ("A", "x", "0813.10.00", "kg", 100, PACKING, []),  # no prices
        ("A", "x", "0813.10.00", "kg", 50, PACKING, tiers),  # first tier above the MOQ
        ("A", "x", "0813.10.00", "kg", 100, PACKING, [*tiers, PriceTier("USD", 900, 700)]),
        ("A", "x", "0813.10.00", "kg", 100, PACKING, [*tiers, PriceTier("USD", 100, 600)]),
        ("A", "x", "0813.10.00", "kg", 100, Packing(1_000, 900, 20, 5, 5, 5), tiers),
        ("A", "x", "0813.10.00", "kg", 100, PACKING, [PriceTier("XYZ", 100, 650)]),
    ]
    for arguments in bad:
        with pytest.raises(DomainError):
            check_product(*arguments)


def test_packages_round_up() -> None:
    assert PACKING.packages(20) == 1
    assert PACKING.packages(21) == 2
    assert PACKING.packages(400) == 20


# ---------------------------------------------------------------------------- tracking
@pytest.mark.parametrize(
    ("carrier", "said", "status"),
    [
        ("dhl", "pre-transit", TrackingStatus.INFO_RECEIVED),
        ("DHL", "Transit", TrackingStatus.IN_TRANSIT),
        ("dhl", "delivered", TrackingStatus.DELIVERED),
        ("fedex", "OD", TrackingStatus.OUT_FOR_DELIVERY),
        ("fedex", "DE", TrackingStatus.EXCEPTION),
        ("fedex", "HL", TrackingStatus.AVAILABLE_FOR_PICKUP),
        ("ups", "D", TrackingStatus.DELIVERED),
        ("ups", "MV", TrackingStatus.EXPIRED),
        ("tcs", "Consignee not available", TrackingStatus.ATTEMPT_FAIL),
        ("maersk", "DLVR", TrackingStatus.DELIVERED),
        ("any-carrier", "OutForDelivery", TrackingStatus.OUT_FOR_DELIVERY),
        ("any-carrier", "pending", TrackingStatus.PENDING),
    ],
)
def test_carrier_statuses_are_normalised(carrier: str, said: str, status: TrackingStatus) -> None:
    assert normalise_tracking_status(carrier, said) is status


def test_an_unknown_carrier_status_is_refused_not_guessed() -> None:
    with pytest.raises(DomainError) as refused:
        normalise_tracking_status("dhl", "lost in the mountains")
    assert refused.value.code == "trade_tracking_status_unknown"


# ---------------------------------------------------------------------------- export proceeds
@pytest.mark.parametrize(
    ("case", "days"),
    [
        (RealisationCase.GENERAL, 120),
        (RealisationCase.SIGHT, 45),
        (RealisationCase.USANCE, 135),
        (RealisationCase.DISCOUNTED, 180),
        (RealisationCase.B2C_ECOMMERCE, 60),
    ],
)
def test_realisation_deadlines_follow_sbp_cases(case: RealisationCase, days: int) -> None:
    # Shipped 1 March 2026 at 23:30 in Skardu (18:30 UTC): day 0 is 1 March, Pakistan time.
    shipped = to_ns(datetime(2026, 3, 1, 18, 30, tzinfo=UTC))
    deadline = from_ns(realisation_deadline(shipped, case, DEFAULT_REALISATION_DAYS))
    local = deadline.astimezone(PAKISTAN)
    assert (local.date() - date(2026, 3, 1)).days == days
    assert (local.hour, local.minute) == (23, 59)


def test_deductions_are_rounded_per_deduction_and_follow_effective_dates() -> None:
    gross = Money(32_500_950, "PKR")  # USD 1,167.00 at 278.50
    after = compute_deductions(gross, date(2026, 1, 4), DEFAULT_DEDUCTION_RATES, "half_up")
    assert [(d.kind, d.basis_points, d.amount_minor) for d in after] == [
        (DeductionKind.EXPORT_DEVELOPMENT_SURCHARGE, 25, 81_252),  # 81,252.375
        (DeductionKind.WITHHOLDING_TAX, 100, 325_010),  # 325,009.50 rounds up
        (DeductionKind.ADVANCE_TAX, 100, 325_010),
    ]
    before = compute_deductions(gross, date(2024, 6, 30), DEFAULT_DEDUCTION_RATES, "half_up")
    assert DeductionKind.ADVANCE_TAX not in {d.kind for d in before}
    even = compute_deductions(gross, date(2026, 1, 4), DEFAULT_DEDUCTION_RATES, "half_even")
    assert even[1].amount_minor == 325_010  # 325,009.5 -> even neighbour 325,010
    changed = (
        DeductionRate(DeductionKind.WITHHOLDING_TAX, 100, date(2001, 7, 1), date(2026, 7, 1)),
        DeductionRate(DeductionKind.WITHHOLDING_TAX, 150, date(2026, 7, 1)),
    )
    assert compute_deductions(gross, date(2026, 6, 30), changed, "half_up")[0].basis_points == 100
    assert compute_deductions(gross, date(2026, 7, 1), changed, "half_up")[0].basis_points == 150


def test_the_financial_instrument_is_required_except_small_b2c_exports() -> None:
    small = Money(5_000_00, "USD")
    large = Money(5_000_01, "USD")
    general = RealisationCase.GENERAL
    b2c = RealisationCase.B2C_ECOMMERCE
    assert check_export_details(" mcb-exp-1 ", Instrument.CONTRACT, general, large) == "MCB-EXP-1"
    assert check_export_details(None, Instrument.E_COMMERCE, b2c, small) is None
    for reference, instrument, case, total in [
        (None, Instrument.OPEN_ACCOUNT, general, small),
        (None, Instrument.E_COMMERCE, b2c, large),
        ("X", Instrument.OPEN_ACCOUNT, b2c, small),  # B2C goes with the e-commerce instrument
        ("not allowed!", Instrument.CONTRACT, general, large),
    ]:
        with pytest.raises(DomainError) as refused:
            check_export_details(reference, instrument, case, total)
        assert refused.value.code == "trade_export_invalid"


# ---------------------------------------------------------------------------- pushes
def test_the_signature_is_hmac_sha256_of_app_key_and_body() -> None:
    body = b'{"message_id":"1"}'
    expected = hmac.new(b"secret-of-16-bytes", b"key-1" + body, hashlib.sha256).hexdigest()
    assert sign("secret-of-16-bytes", "key-1", body) == expected
    assert signature_matches("secret-of-16-bytes", "key-1", body, expected.upper())
    assert not signature_matches("secret-of-16-bytes", "key-2", body, expected)
    assert not signature_matches("secret-of-16-bytes", "key-1", body + b" ", expected)


def _message(**changes: object) -> bytes:
    document: dict[str, object] = {
        "message_id": "M1",
        "message_type": "order_paid",
        "occurred_at": "2026-01-01T10:00:00+05:00",
        "data": {"order_id": "A1", "amount": "10.00", "currency": "USD", "payment_reference": "P"},
    }
    document.update(changes)
    return json.dumps(document).encode()


def test_a_well_formed_message_parses() -> None:
    message = parse_message(_message())
    assert (message.message_id, message.order_id) == ("M1", "A1")
    assert message.occurred_at == to_ns(datetime(2026, 1, 1, 5, tzinfo=UTC))


@pytest.mark.parametrize(
    "body",
    [
        _message()[:-7],  # truncated
        b"",
        b"[1, 2]",
        b"\xff\xfe",
        _message(message_type="order_teleported"),
        _message(occurred_at="2026-01-01T10:00:00"),  # no zone
        _message(data={"order_id": "A1"}),  # a payment without an amount
        _message(message_id=""),
    ],
)
def test_malformed_messages_are_400(body: bytes) -> None:
    with pytest.raises(DomainError) as refused:
        parse_message(body)
    assert (refused.value.code, refused.value.status) == ("trade_push_malformed", 400)
