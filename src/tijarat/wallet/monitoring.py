"""Transaction monitoring: simple rules over a customer's payments raise alerts for review.

The wallet calls `observe` for every debit and credit it posts. Rules (configuration, in
`MonitoringRules`) look at the customer's recent payments in the same direction and
currency:

- velocity: more than N debits within a sliding window (10 within an hour);
- structuring near a limit: K or more payments, each at X% or more of its per-transaction
  limit, within a window (3 at 90% or more within 24 hours);
- structuring by aggregate: on one business day (Asia/Karachi), two or more payments each
  under a reporting threshold whose sum reaches it;
- a large single amount (at or over a threshold per currency).

A rule that fires again while its alert is open and the windows overlap adds the payment to
that alert: one open alert per customer, rule and window, not one per payment. Payments an
analyst already saw in a closed alert do not count again for the same rule. Monitoring never
refuses or holds a payment: it only records and alerts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from tijarat.kernel.clock import NS_PER_S, PAKISTAN, Clock, from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.ids import new_id
from tijarat.kernel.money import Money
from tijarat.wallet.screening_store import (
    alert_observations_table,
    alerts_table,
    monitored_customers_table,
    observations_table,
)

NS_PER_MINUTE = 60 * NS_PER_S
NS_PER_HOUR = 60 * NS_PER_MINUTE
REFERENCE_LENGTH_MAX = 140
ACTOR_LENGTH_MAX = 100
NOTE_LENGTH_MAX = 1_000
DETAIL_LENGTH_MAX = 400
ALERTS_PAGE_DEFAULT = 100
ALERTS_PAGE_MAX = 500
ALERT_OBSERVATIONS_MAX = 1_000
WRITE_ATTEMPTS_MAX = 3
# The Financial Monitoring Unit's currency transaction report threshold (Rs 2 million);
# an operator sets its own figures per currency in MonitoringRules.
REPORTING_THRESHOLD_PKR_MINOR = 2_000_000_00


class MonitoringError(StrEnum):
    OBSERVATION_INVALID = "monitoring_observation_invalid"
    OBSERVATION_CONFLICT = "monitoring_observation_conflict"
    REQUEST_INVALID = "monitoring_request_invalid"
    ALERT_NOT_FOUND = "monitoring_alert_not_found"
    ALERT_CLOSED = "monitoring_alert_already_closed"


class Direction(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class Rule(StrEnum):
    VELOCITY = "velocity"
    NEAR_LIMIT = "structuring_near_limit"
    AGGREGATE = "structuring_aggregate"
    LARGE_AMOUNT = "large_amount"


class AlertStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def _per_currency(figures: dict[str, int]) -> Mapping[str, int]:
    return MappingProxyType(figures)


@dataclass(frozen=True, slots=True)
class MonitoringRules:
    """The rules' figures. Amounts are minor units per currency; a currency not listed in a
    mapping is not checked by that rule. Windows are nanoseconds."""

    velocity_debits_max: int = 10  # more than this many debits in the window alerts
    velocity_window_ns: int = NS_PER_HOUR
    near_limit_percent: int = 90  # "just under the limit": at least this % of it
    near_limit_count_min: int = 3
    near_limit_window_ns: int = 24 * NS_PER_HOUR
    reporting_threshold_minor: Mapping[str, int] = field(
        default_factory=lambda: _per_currency({"PKR": REPORTING_THRESHOLD_PKR_MINOR})
    )
    aggregate_count_min: int = 2
    large_amount_minor: Mapping[str, int] = field(
        default_factory=lambda: _per_currency({"PKR": REPORTING_THRESHOLD_PKR_MINOR})
    )
    large_amount_window_ns: int = 24 * NS_PER_HOUR

    def __post_init__(self) -> None:
        counts = (self.velocity_debits_max, self.near_limit_count_min, self.aggregate_count_min)
        windows = (self.velocity_window_ns, self.near_limit_window_ns)
        if min(counts) < 1 or min((*windows, self.large_amount_window_ns)) < 1:
            raise ValueError("rule counts and windows must be positive")
        if not 1 <= self.near_limit_percent <= 100:
            raise ValueError("near_limit_percent must be 1 to 100")
        figures = [*self.reporting_threshold_minor.values(), *self.large_amount_minor.values()]
        if any(figure < 1 for figure in figures):
            raise ValueError("thresholds must be positive amounts in minor units")


@dataclass(frozen=True, slots=True)
class Observation:
    id: uuid.UUID
    customer_id: uuid.UUID
    direction: Direction
    amount_minor: int
    currency: str
    per_transaction_limit_minor: int | None
    reference: str
    observed_at: int


@dataclass(frozen=True, slots=True)
class Alert:
    id: uuid.UUID
    customer_id: uuid.UUID
    rule: Rule
    direction: Direction
    currency: str
    status: AlertStatus
    window_start: int
    window_end: int  # the latest payment in the alert
    observation_count: int
    total_minor: int
    detail: str
    created_at: int
    updated_at: int
    closed_at: int | None
    closed_by: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class _Firing:
    rule: Rule
    where: list[Any]  # selects the payments that make the pattern, the new one included
    since: int  # start of the window the pattern was found in


def karachi_day_start_ns(moment_ns: int) -> int:
    """Midnight in Pakistan (Asia/Karachi) of the day `moment_ns` falls on."""
    local = from_ns(moment_ns).astimezone(PAKISTAN)
    return to_ns(local.replace(hour=0, minute=0, second=0, microsecond=0))


def _span(window_ns: int) -> str:
    if window_ns % NS_PER_HOUR == 0:
        return f"{window_ns // NS_PER_HOUR} h"
    if window_ns % NS_PER_MINUTE == 0:
        return f"{window_ns // NS_PER_MINUTE} min"
    return f"{window_ns / NS_PER_S:g} s"


class Monitoring:
    """Records a customer's payments and raises alerts when a rule's pattern appears."""

    def __init__(
        self, engine: sa.Engine, clock: Clock, rules: MonitoringRules | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.rules = rules or MonitoringRules()

    # ------------------------------------------------------------------ observing
    def observe(
        self,
        customer_id: uuid.UUID,
        direction: Direction | str,
        amount_minor: int,
        currency: str,
        *,
        per_transaction_limit_minor: int | None,
        reference: str,
    ) -> list[Alert]:
        """Record a posted payment; returns the alerts it opened or added to (often none).

        Idempotent by (customer, direction, reference): the same payment observed again is
        not counted twice and answers the alerts it is in.
        """
        observation = self._checked(
            customer_id,
            direction,
            amount_minor,
            currency,
            per_transaction_limit_minor=per_transaction_limit_minor,
            reference=reference,
        )
        attempts = 0
        while True:
            attempts += 1
            try:
                with self.engine.begin() as connection:
                    return self._observe(connection, observation)
            except sa.exc.IntegrityError:
                # The same customer's first observation, or the same payment, raced another
                # process; the retry finds its row.
                if attempts >= WRITE_ATTEMPTS_MAX:
                    raise

    def _checked(
        self,
        customer_id: uuid.UUID,
        direction: Direction | str,
        amount_minor: int,
        currency: str,
        *,
        per_transaction_limit_minor: int | None,
        reference: str,
    ) -> Observation:
        if not isinstance(customer_id, uuid.UUID):
            raise _invalid("customer_id must be a UUID")
        if direction not in Direction.__members__.values():
            raise _invalid("direction must be debit or credit", direction=str(direction)[:16])
        if type(amount_minor) is not int or amount_minor <= 0:
            raise _invalid(
                "amount_minor must be a positive integer", amount_minor=str(amount_minor)
            )
        if per_transaction_limit_minor is not None and (
            type(per_transaction_limit_minor) is not int or per_transaction_limit_minor <= 0
        ):
            raise _invalid("per_transaction_limit_minor must be a positive integer or null")
        money = Money(amount_minor, currency)  # a supported currency, in range
        reference = reference.strip()
        if not reference or len(reference) > REFERENCE_LENGTH_MAX:
            raise _invalid(f"reference must be 1 to {REFERENCE_LENGTH_MAX} characters")
        return Observation(
            id=new_id(),
            customer_id=customer_id,
            direction=Direction(direction),
            amount_minor=money.amount_minor,
            currency=money.currency,
            per_transaction_limit_minor=per_transaction_limit_minor,
            reference=reference,
            observed_at=self.clock.now_ns(),
        )

    def _observe(self, connection: sa.Connection, new: Observation) -> list[Alert]:
        now = new.observed_at
        # Lock the customer first: the evaluation below must see every earlier payment.
        locked = connection.execute(
            monitored_customers_table.update()
            .where(monitored_customers_table.c.customer_id == new.customer_id)
            .values(last_observed_at=now)
        ).rowcount
        if locked == 0:
            connection.execute(
                monitored_customers_table.insert().values(
                    customer_id=new.customer_id, last_observed_at=now
                )
            )
        same = connection.execute(
            sa.select(observations_table).where(
                observations_table.c.customer_id == new.customer_id,
                observations_table.c.direction == new.direction,
                observations_table.c.reference == new.reference,
            )
        ).one_or_none()
        if same is not None:
            earlier = _observation_from_row(same)
            if (earlier.amount_minor, earlier.currency, earlier.per_transaction_limit_minor) != (
                new.amount_minor,
                new.currency,
                new.per_transaction_limit_minor,
            ):
                raise DomainError(
                    MonitoringError.OBSERVATION_CONFLICT,
                    f"payment {new.reference!r} was observed before with other figures",
                    status=409,
                    fields={"reference": new.reference},
                )
            return self._alerts_of(connection, earlier.id)
        connection.execute(observations_table.insert().values(**_observation_row(new)))
        return [self._raise(connection, new, firing) for firing in self._firings(connection, new)]

    def _firings(self, connection: sa.Connection, new: Observation) -> list[_Firing]:
        """The rules whose pattern the new payment completes, counted in the database.

        Each rule counts the customer's payments in the same direction and currency within
        its window, leaving out those an analyst already saw in a closed alert of the rule.
        """
        rules, now = self.rules, new.observed_at
        o = observations_table
        firings: list[_Firing] = []

        def recent(rule: Rule, since: int, *conditions: Any) -> list[Any]:
            where = [
                o.c.customer_id == new.customer_id,
                o.c.direction == new.direction,
                o.c.currency == new.currency,
                o.c.observed_at >= since,
                o.c.observed_at <= now,
                *conditions,
            ]
            closed = sa.select(alerts_table.c.id).where(
                alerts_table.c.customer_id == new.customer_id,
                alerts_table.c.rule == rule,
                alerts_table.c.direction == new.direction,
                alerts_table.c.currency == new.currency,
                alerts_table.c.status == AlertStatus.CLOSED,
                alerts_table.c.window_end >= since,
            )
            # Only when the window holds closed alerts (rare) is each payment checked.
            if connection.execute(closed.limit(1)).first() is not None:
                seen = alert_observations_table.c.observation_id == o.c.id
                where.append(
                    ~sa.exists().where(seen, alert_observations_table.c.alert_id.in_(closed))
                )
            return where

        def tally(where: list[Any]) -> tuple[int, int]:
            count, total = connection.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(o.c.amount_minor), 0))
                .select_from(o)
                .where(*where)
            ).one()
            return int(count), int(total)

        if new.direction is Direction.DEBIT:
            # Strictly within the window: a payment exactly one window old has left it.
            since = now - rules.velocity_window_ns + 1
            where = recent(Rule.VELOCITY, since)
            if tally(where)[0] > rules.velocity_debits_max:
                firings.append(_Firing(Rule.VELOCITY, where, since))
        if self._near_limit(new):
            since = now - rules.near_limit_window_ns + 1
            limit = o.c.per_transaction_limit_minor
            where = recent(
                Rule.NEAR_LIMIT,
                since,
                limit.is_not(None),
                limit * rules.near_limit_percent <= o.c.amount_minor * 100,
                o.c.amount_minor <= limit,
            )
            if tally(where)[0] >= rules.near_limit_count_min:
                firings.append(_Firing(Rule.NEAR_LIMIT, where, since))
        threshold = rules.reporting_threshold_minor.get(new.currency)
        if threshold is not None and new.amount_minor < threshold:
            day_start = karachi_day_start_ns(now)
            where = recent(Rule.AGGREGATE, day_start, o.c.amount_minor < threshold)
            count, total = tally(where)
            if count >= rules.aggregate_count_min and total >= threshold:
                firings.append(_Firing(Rule.AGGREGATE, where, day_start))
        large = rules.large_amount_minor.get(new.currency)
        if large is not None and new.amount_minor >= large:
            since = now - rules.large_amount_window_ns + 1
            firings.append(_Firing(Rule.LARGE_AMOUNT, [o.c.id == new.id], since))
        return firings

    def _near_limit(self, observation: Observation) -> bool:
        limit = observation.per_transaction_limit_minor
        if limit is None:
            return False
        percent = self.rules.near_limit_percent
        return limit * percent <= observation.amount_minor * 100 <= limit * 100

    def _raise(self, connection: sa.Connection, new: Observation, firing: _Firing) -> Alert:
        """Open an alert with the pattern's payments, or add the new payment to the open
        alert of the rule whose window overlaps this one."""
        now = new.observed_at
        row = connection.execute(
            sa.select(alerts_table)
            .where(
                alerts_table.c.customer_id == new.customer_id,
                alerts_table.c.rule == firing.rule,
                alerts_table.c.direction == new.direction,
                alerts_table.c.currency == new.currency,
                alerts_table.c.status == AlertStatus.OPEN,
                alerts_table.c.window_end >= firing.since,
            )
            .order_by(alerts_table.c.window_end.desc())
            .limit(1)
        ).one_or_none()
        if row is None:
            members = connection.execute(
                sa.select(
                    observations_table.c.id,
                    observations_table.c.amount_minor,
                    observations_table.c.observed_at,
                ).where(*firing.where)
            ).all()
            alert_id, created_at = new_id(), now
            adding = [(member.id, member.amount_minor) for member in members]
            count, total = len(adding), sum(amount for _, amount in adding)
            window_start = min(member.observed_at for member in members)
            if firing.rule is Rule.AGGREGATE:
                window_start = firing.since  # the business day
        else:
            # Earlier payments of the pattern joined the alert as they came in: add this one.
            alert_id, created_at, window_start = row.id, row.created_at, row.window_start
            adding = [(new.id, new.amount_minor)]
            count, total = row.observation_count + 1, row.total_minor + new.amount_minor
        detail = self._detail(firing.rule, new, count, total, window_start)
        values = {
            "window_end": now,
            "observation_count": count,
            "total_minor": total,
            "detail": detail,
            "updated_at": now,
        }
        if row is None:
            connection.execute(
                alerts_table.insert().values(
                    id=alert_id,
                    customer_id=new.customer_id,
                    rule=firing.rule.value,
                    direction=new.direction.value,
                    currency=new.currency,
                    status=AlertStatus.OPEN.value,
                    window_start=window_start,
                    created_at=created_at,
                    closed_at=None,
                    closed_by=None,
                    note=None,
                    **values,
                )
            )
        else:
            connection.execute(
                alerts_table.update().where(alerts_table.c.id == alert_id).values(**values)
            )
        connection.execute(
            alert_observations_table.insert(),
            [{"alert_id": alert_id, "observation_id": member} for member, _ in adding],
        )
        return Alert(
            id=alert_id,
            customer_id=new.customer_id,
            rule=firing.rule,
            direction=new.direction,
            currency=new.currency,
            status=AlertStatus.OPEN,
            window_start=window_start,
            window_end=now,
            observation_count=count,
            total_minor=total,
            detail=detail,
            created_at=created_at,
            updated_at=now,
            closed_at=None,
            closed_by=None,
            note=None,
        )

    def _detail(self, rule: Rule, new: Observation, count: int, total: int, start: int) -> str:
        rules = self.rules
        money = Money(total, new.currency)
        if rule is Rule.VELOCITY:
            text = (
                f"{count} debits totalling {money}; more than {rules.velocity_debits_max} "
                f"within {_span(rules.velocity_window_ns)}"
            )
        elif rule is Rule.NEAR_LIMIT:
            text = (
                f"{count} {new.direction}s at {rules.near_limit_percent}% or more of the "
                f"per-transaction limit within {_span(rules.near_limit_window_ns)}, "
                f"totalling {money}"
            )
        elif rule is Rule.AGGREGATE:
            threshold = Money(rules.reporting_threshold_minor[new.currency], new.currency)
            day = from_ns(start).astimezone(PAKISTAN).date().isoformat()
            text = (
                f"{count} {new.direction}s on {day} (Asia/Karachi) totalling {money}, "
                f"each under the reporting threshold of {threshold}"
            )
        else:
            large = Money(rules.large_amount_minor[new.currency], new.currency)
            text = f"{count} {new.direction}(s) of {large} or more, totalling {money}"
        return text[:DETAIL_LENGTH_MAX]

    # ------------------------------------------------------------------ alerts
    def alerts(
        self,
        status: str | None = AlertStatus.OPEN,
        limit: int = ALERTS_PAGE_DEFAULT,
        *,
        customer_id: uuid.UUID | None = None,
    ) -> list[Alert]:
        """Alerts oldest first (a queue), in one status or (None) all, optionally of one
        customer."""
        if not 1 <= limit <= ALERTS_PAGE_MAX:
            raise _request_error(f"limit must be 1 to {ALERTS_PAGE_MAX}")
        query = sa.select(alerts_table).order_by(alerts_table.c.created_at, alerts_table.c.id)
        if status is not None:
            if status not in AlertStatus.__members__.values():
                raise _request_error(f"status must be one of {', '.join(AlertStatus)}")
            query = query.where(alerts_table.c.status == status)
        if customer_id is not None:
            query = query.where(alerts_table.c.customer_id == customer_id)
        with self.engine.connect() as connection:
            return [_alert_from_row(row) for row in connection.execute(query.limit(limit))]

    def alert(self, alert_id: uuid.UUID) -> Alert:
        with self.engine.connect() as connection:
            return _alert_from_row(_alert_row_or_404(connection, alert_id))

    def alert_observations(self, alert_id: uuid.UUID) -> list[Observation]:
        """The payments in an alert, oldest first (at most ALERT_OBSERVATIONS_MAX)."""
        with self.engine.connect() as connection:
            _alert_row_or_404(connection, alert_id)
            rows = connection.execute(
                sa.select(observations_table)
                .join(
                    alert_observations_table,
                    alert_observations_table.c.observation_id == observations_table.c.id,
                )
                .where(alert_observations_table.c.alert_id == alert_id)
                .order_by(observations_table.c.observed_at, observations_table.c.id)
                .limit(ALERT_OBSERVATIONS_MAX)
            )
            return [_observation_from_row(row) for row in rows]

    def close_alert(self, alert_id: uuid.UUID, reviewer: str, note: str) -> Alert:
        """An analyst closes an alert after review, saying why. Once."""
        reviewer = reviewer.strip()
        if not reviewer or len(reviewer) > ACTOR_LENGTH_MAX:
            raise _request_error(f"reviewer must be 1 to {ACTOR_LENGTH_MAX} characters")
        note = " ".join(note.split())
        if not note or len(note) > NOTE_LENGTH_MAX:
            raise _request_error(f"note must say why, in 1 to {NOTE_LENGTH_MAX} characters")
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            row = _alert_row_or_404(connection, alert_id)
            changed = connection.execute(
                alerts_table.update()
                .where(alerts_table.c.id == alert_id, alerts_table.c.status == AlertStatus.OPEN)
                .values(status=AlertStatus.CLOSED, closed_at=now, closed_by=reviewer, note=note)
            ).rowcount
            if changed != 1:
                raise DomainError(
                    MonitoringError.ALERT_CLOSED,
                    f"alert {alert_id} was already closed by {row.closed_by}",
                    status=409,
                    fields={"alert_id": str(alert_id)},
                )
            return _alert_from_row(_alert_row_or_404(connection, alert_id))

    def _alerts_of(self, connection: sa.Connection, observation_id: uuid.UUID) -> list[Alert]:
        rows = connection.execute(
            sa.select(alerts_table)
            .join(
                alert_observations_table, alert_observations_table.c.alert_id == alerts_table.c.id
            )
            .where(alert_observations_table.c.observation_id == observation_id)
            .order_by(alerts_table.c.created_at, alerts_table.c.id)
        )
        return [_alert_from_row(row) for row in rows]


# ---------------------------------------------------------------------- helpers
def _invalid(message: str, **fields: Any) -> DomainError:
    return DomainError(MonitoringError.OBSERVATION_INVALID, message, status=422, fields=fields)


def _request_error(message: str) -> DomainError:
    return DomainError(MonitoringError.REQUEST_INVALID, message, status=422)


def _observation_row(observation: Observation) -> dict[str, Any]:
    return {
        "id": observation.id,
        "customer_id": observation.customer_id,
        "direction": observation.direction.value,
        "amount_minor": observation.amount_minor,
        "currency": observation.currency,
        "per_transaction_limit_minor": observation.per_transaction_limit_minor,
        "reference": observation.reference,
        "observed_at": observation.observed_at,
    }


def _observation_from_row(row: Any) -> Observation:
    return Observation(
        id=row.id,
        customer_id=row.customer_id,
        direction=Direction(row.direction),
        amount_minor=row.amount_minor,
        currency=row.currency,
        per_transaction_limit_minor=row.per_transaction_limit_minor,
        reference=row.reference,
        observed_at=row.observed_at,
    )


def _alert_row_or_404(connection: sa.Connection, alert_id: uuid.UUID) -> Any:
    row = connection.execute(
        sa.select(alerts_table).where(alerts_table.c.id == alert_id)
    ).one_or_none()
    if row is None:
        raise DomainError(
            MonitoringError.ALERT_NOT_FOUND,
            f"no alert {alert_id}",
            status=404,
            fields={"alert_id": str(alert_id)},
        )
    return row


def _alert_from_row(row: Any) -> Alert:
    return Alert(
        id=row.id,
        customer_id=row.customer_id,
        rule=Rule(row.rule),
        direction=Direction(row.direction),
        currency=row.currency,
        status=AlertStatus(row.status),
        window_start=row.window_start,
        window_end=row.window_end,
        observation_count=row.observation_count,
        total_minor=row.total_minor,
        detail=row.detail,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        note=row.note,
    )
