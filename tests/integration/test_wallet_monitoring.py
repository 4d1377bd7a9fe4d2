"""Transaction monitoring on SQLite and PostgreSQL: each rule, one alert per window, closing,
idempotent observations, and concurrent payments of one customer."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.wallet.monitoring import (
    NS_PER_HOUR,
    Alert,
    AlertStatus,
    Monitoring,
    MonitoringRules,
    Rule,
    karachi_day_start_ns,
)

PER_TRANSACTION_LIMIT = 200_000_00  # Rs 200,000
# Small figures keep the tests short; the defaults are tested in test_default_rules.
RULES = MonitoringRules(
    velocity_debits_max=3,
    velocity_window_ns=NS_PER_HOUR,
    near_limit_percent=90,
    near_limit_count_min=3,
    near_limit_window_ns=24 * NS_PER_HOUR,
    reporting_threshold_minor={"PKR": 1_000_000_00},
    aggregate_count_min=2,
    large_amount_minor={"PKR": 5_000_000_00, "USD": 10_000_00},
)


@pytest.fixture
def monitoring(container: Container) -> Monitoring:
    return Monitoring(container.engine, container.clock, RULES)


def pay(
    monitoring: Monitoring,
    customer: uuid.UUID,
    amount_minor: int = 1_000_00,
    *,
    direction: str = "debit",
    currency: str = "PKR",
    limit: int | None = PER_TRANSACTION_LIMIT,
    reference: str | None = None,
) -> list[Alert]:
    return monitoring.observe(
        customer,
        direction,
        amount_minor,
        currency,
        per_transaction_limit_minor=limit,
        reference=reference or uuid.uuid4().hex,
    )


def test_velocity_raises_one_alert_per_burst(monitoring: Monitoring, clock: ManualClock) -> None:
    customer, neighbour = uuid.uuid4(), uuid.uuid4()
    for _ in range(3):
        assert pay(monitoring, customer) == []
        clock.advance(timedelta(minutes=5))
    pay(monitoring, customer, direction="credit")  # credits are not debits
    pay(monitoring, neighbour)  # nor are another customer's debits
    (alert,) = pay(monitoring, customer)
    assert (alert.rule, alert.status, alert.observation_count) == (
        Rule.VELOCITY,
        AlertStatus.OPEN,
        4,
    )
    assert alert.total_minor == 4_000_00
    assert alert.detail == "4 debits totalling PKR 4000.00; more than 3 within 1 h"
    clock.advance(timedelta(minutes=5))
    (again,) = pay(monitoring, customer)  # the same burst: the same alert
    assert (again.id, again.observation_count) == (alert.id, 5)
    assert len(monitoring.alerts()) == 1
    assert [o.amount_minor for o in monitoring.alert_observations(alert.id)] == [1_000_00] * 5

    clock.advance(timedelta(hours=2))  # a new burst after the window: a new alert
    for _ in range(3):
        assert pay(monitoring, customer) == []
    (later,) = pay(monitoring, customer)
    assert later.id != alert.id
    assert [a.id for a in monitoring.alerts(customer_id=customer)] == [alert.id, later.id]
    assert monitoring.alerts(customer_id=neighbour) == []


def test_a_payment_out_of_the_window_no_longer_counts(
    monitoring: Monitoring, clock: ManualClock
) -> None:
    customer = uuid.uuid4()
    for _ in range(3):
        pay(monitoring, customer)
    clock.advance(timedelta(hours=1))  # exactly one window later: those three have left it
    assert pay(monitoring, customer) == []


def test_structuring_just_under_the_limit(monitoring: Monitoring, clock: ManualClock) -> None:
    customer = uuid.uuid4()
    near = PER_TRANSACTION_LIMIT * 95 // 100
    pay(monitoring, customer, near, direction="credit")
    pay(monitoring, customer, PER_TRANSACTION_LIMIT * 89 // 100, direction="credit")  # not near
    pay(monitoring, customer, near, direction="credit", limit=None)  # no limit: not near
    clock.advance(timedelta(hours=20))
    assert pay(monitoring, customer, PER_TRANSACTION_LIMIT, direction="credit") == []
    clock.advance(timedelta(hours=3))
    (alert,) = pay(monitoring, customer, PER_TRANSACTION_LIMIT * 9 // 10, direction="credit")
    assert (alert.rule, alert.direction, alert.observation_count) == (
        Rule.NEAR_LIMIT,
        "credit",
        3,
    )
    assert alert.total_minor == near + PER_TRANSACTION_LIMIT + PER_TRANSACTION_LIMIT * 9 // 10
    assert "3 credits at 90% or more of the per-transaction limit within 24 h" in alert.detail
    clock.advance(timedelta(hours=2))  # the first near payment has left the 24 h window
    assert pay(monitoring, customer, near, direction="credit")[0].id == alert.id


def test_aggregate_counts_a_pakistan_business_day(container: Container) -> None:
    # 18:30 UTC is 23:30 in Karachi; 19:30 UTC is 00:30 the next day there.
    clock = ManualClock(datetime(2026, 3, 10, 18, 30, tzinfo=UTC))
    monitoring = Monitoring(container.engine, clock, RULES)
    customer = uuid.uuid4()
    assert karachi_day_start_ns(clock.now_ns()) == to_ns(datetime(2026, 3, 9, 19, 0, tzinfo=UTC))
    assert pay(monitoring, customer, 600_000_00, limit=None) == []
    clock.advance(timedelta(hours=1))  # the same UTC day, the next Karachi day
    assert pay(monitoring, customer, 600_000_00, limit=None) == []
    clock.advance(timedelta(hours=3))
    (alert,) = pay(monitoring, customer, 400_000_00, limit=None)
    assert (alert.rule, alert.observation_count, alert.total_minor) == (
        Rule.AGGREGATE,
        2,
        1_000_000_00,
    )
    assert alert.window_start == to_ns(datetime(2026, 3, 10, 19, 0, tzinfo=UTC))
    assert "on 2026-03-11 (Asia/Karachi)" in alert.detail
    assert "each under the reporting threshold of PKR 1000000.00" in alert.detail
    (same,) = pay(monitoring, customer, 10_00, limit=None)
    assert (same.id, same.observation_count) == (alert.id, 3)
    # A payment at or over the threshold is not structuring (the large-amount rule's job).
    assert pay(monitoring, customer, 1_000_000_00, limit=None) == []


def test_large_amounts_alert_per_currency(monitoring: Monitoring, clock: ManualClock) -> None:
    customer = uuid.uuid4()
    (alert,) = pay(monitoring, customer, 10_000_00, currency="USD", direction="credit")
    assert (alert.rule, alert.currency, alert.total_minor) == (Rule.LARGE_AMOUNT, "USD", 10_000_00)
    assert pay(monitoring, customer, 9_999_99, currency="USD", direction="credit") == []
    clock.advance(timedelta(hours=1))
    (same,) = pay(monitoring, customer, 20_000_00, currency="USD", direction="credit")
    assert (same.id, same.observation_count, same.total_minor) == (alert.id, 2, 30_000_00)


def test_closed_alerts_stay_closed_and_their_payments_do_not_count_again(
    monitoring: Monitoring, clock: ManualClock
) -> None:
    customer = uuid.uuid4()
    for _ in range(4):
        alerts = pay(monitoring, customer)
    (alert,) = alerts
    with pytest.raises(DomainError) as no_note:
        monitoring.close_alert(alert.id, "ayesha", "")
    assert no_note.value.code == "monitoring_request_invalid"
    clock.advance(seconds=30)
    closed = monitoring.close_alert(alert.id, "ayesha", "salary run to staff; documents on file")
    assert (closed.status, closed.closed_by, closed.closed_at) == (
        AlertStatus.CLOSED,
        "ayesha",
        clock.now_ns(),
    )
    with pytest.raises(DomainError) as twice:
        monitoring.close_alert(alert.id, "bilal", "again")
    assert (twice.value.code, twice.value.status) == ("monitoring_alert_already_closed", 409)
    with pytest.raises(DomainError) as missing:
        monitoring.close_alert(uuid.UUID(int=5), "bilal", "no such alert")
    assert missing.value.status == 404
    assert monitoring.alerts() == []
    assert [a.id for a in monitoring.alerts(status="closed")] == [alert.id]
    # The analyst saw those four: three fresh debits are not "more than three" yet.
    for _ in range(3):
        assert pay(monitoring, customer) == []
    (fresh,) = pay(monitoring, customer)
    assert (fresh.observation_count, fresh.status) == (4, AlertStatus.OPEN)
    assert [a.id for a in monitoring.alerts(status=None)] == [alert.id, fresh.id]


def test_observations_are_idempotent_by_reference(monitoring: Monitoring) -> None:
    customer = uuid.uuid4()
    for n in range(3):
        pay(monitoring, customer, reference=f"pay-{n}")
    (alert,) = pay(monitoring, customer, reference="pay-3")
    (replayed,) = pay(monitoring, customer, reference="pay-3")  # a retry: counted once
    assert (replayed.id, replayed.observation_count) == (alert.id, 4)
    assert [a.id for a in pay(monitoring, customer, reference="pay-0")] == [alert.id]
    with pytest.raises(DomainError) as conflict:
        pay(monitoring, customer, 2_000_00, reference="pay-3")
    assert (conflict.value.code, conflict.value.status) == ("monitoring_observation_conflict", 409)
    # The same reference in the other direction is another payment (a refund, say).
    assert pay(monitoring, customer, direction="credit", reference="pay-3") == []


BAD_OBSERVATIONS = [
    ({"amount_minor": 0}, "monitoring_observation_invalid"),
    ({"amount_minor": -5}, "monitoring_observation_invalid"),
    ({"amount_minor": 10.5}, "monitoring_observation_invalid"),
    ({"direction": "sideways"}, "monitoring_observation_invalid"),
    ({"currency": "XYZ"}, "unsupported_currency"),
    ({"per_transaction_limit_minor": 0}, "monitoring_observation_invalid"),
    ({"reference": " "}, "monitoring_observation_invalid"),
    ({"customer_id": "not-a-uuid"}, "monitoring_observation_invalid"),
]


def test_bad_observations_are_refused_and_change_nothing(monitoring: Monitoring) -> None:
    customer = uuid.uuid4()
    for _ in range(3):
        pay(monitoring, customer)
    for changes, code in BAD_OBSERVATIONS:
        arguments: dict[str, object] = {
            "customer_id": customer,
            "direction": "debit",
            "amount_minor": 100,
            "currency": "PKR",
            "per_transaction_limit_minor": None,
            "reference": "r1",
        }
        arguments.update(changes)
        with pytest.raises(DomainError) as refused:
            monitoring.observe(**arguments)  # type: ignore[arg-type]
        assert refused.value.code == code, changes
    # None of them was recorded: the next debit is only the fourth.
    assert [a.observation_count for a in pay(monitoring, customer)] == [4]


def test_concurrent_payments_of_one_customer_raise_one_alert(
    monitoring: Monitoring, container: Container
) -> None:
    customer = uuid.uuid4()
    other = Monitoring(container.engine, container.clock, RULES)  # another worker
    raised: list[Alert] = []
    barrier = threading.Barrier(6)

    def observe(service: Monitoring) -> None:
        barrier.wait()
        raised.extend(pay(service, customer))

    threads = [
        threading.Thread(target=observe, args=(monitoring if n % 2 else other,)) for n in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (alert,) = monitoring.alerts()
    assert alert.observation_count == 6
    assert {a.id for a in raised} == {alert.id}
    assert len(raised) == 3  # the 4th, 5th and 6th payments each saw the pattern


def test_default_rules(monitoring: Monitoring) -> None:
    rules = MonitoringRules()
    assert (rules.velocity_debits_max, rules.velocity_window_ns) == (10, NS_PER_HOUR)
    assert (rules.near_limit_percent, rules.near_limit_count_min) == (90, 3)
    assert rules.reporting_threshold_minor["PKR"] == 2_000_000_00
    with pytest.raises(TypeError):
        rules.reporting_threshold_minor["PKR"] = 1  # type: ignore[index]
    with pytest.raises(ValueError, match="positive"):
        MonitoringRules(velocity_window_ns=0)
    with pytest.raises(ValueError, match="near_limit_percent"):
        MonitoringRules(near_limit_percent=120)
    default = Monitoring(monitoring.engine, monitoring.clock)
    assert default.rules == rules
