"""/v1/compliance: sanctions lists, screening, the review queue and monitoring alerts.

Operator only (bearer token). Analysts name themselves in `reviewer` when they decide: the
operator token is shared, so the name in the body is what the trail records.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tijarat.api.deps import ContainerDep, OperatorDep
from tijarat.kernel.errors import DomainError
from tijarat.wallet.monitoring import (
    ALERTS_PAGE_DEFAULT,
    ALERTS_PAGE_MAX,
    Alert,
    Monitoring,
    Observation,
)
from tijarat.wallet.screening import (
    REVIEWS_PAGE_DEFAULT,
    REVIEWS_PAGE_MAX,
    ListFormat,
    Review,
    ReviewEvent,
    SanctionList,
    Screening,
    ScreeningError,
    ScreeningMatch,
    ScreeningResult,
)

router = APIRouter(prefix="/v1/compliance", tags=["compliance"])

# The body's media type says which format a list file is in.
LIST_MEDIA_TYPES = {
    "text/csv": ListFormat.CSV,
    "application/xml": ListFormat.UN_XML,
    "text/xml": ListFormat.UN_XML,
}


def _screening(container: ContainerDep) -> Screening:
    screening: Screening = container.screening
    return screening


def _monitoring(container: ContainerDep) -> Monitoring:
    monitoring: Monitoring = container.monitoring
    return monitoring


# ---------------------------------------------------------------------- models
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListOut(BaseModel):
    id: uuid.UUID
    source: str
    version: int
    format: str
    entry_count: int
    active: bool
    imported_at: int
    imported_by: str

    @classmethod
    def of(cls, item: SanctionList) -> ListOut:
        return cls(
            id=item.id,
            source=item.source,
            version=item.version,
            format=item.format.value,
            entry_count=item.entry_count,
            active=item.active,
            imported_at=item.imported_at,
            imported_by=item.imported_by,
        )


class ScreenIn(_In):
    name: str = Field(min_length=1, max_length=400)
    subject: str = Field(min_length=1, max_length=32, examples=["payee"])
    reference: str = Field(default="", max_length=140)


class MatchOut(BaseModel):
    entry_id: uuid.UUID
    list_id: uuid.UUID
    source: str
    list_version: int
    entry_ref: str
    entry_name: str
    entry_type: str
    programme: str
    country: str | None
    matched_name: str
    score: float
    outcome: str
    review_id: uuid.UUID | None
    decision: str | None

    @classmethod
    def of(cls, match: ScreeningMatch) -> MatchOut:
        return cls(
            entry_id=match.entry_id,
            list_id=match.list_id,
            source=match.source,
            list_version=match.list_version,
            entry_ref=match.entry_ref,
            entry_name=match.entry_name,
            entry_type=match.entry_type.value,
            programme=match.programme,
            country=match.country,
            matched_name=match.matched_name,
            score=match.score,
            outcome=match.outcome.value,
            review_id=match.review_id,
            decision=match.decision.value if match.decision else None,
        )


class ScreeningOut(BaseModel):
    name: str
    normalised_name: str
    subject: str
    reference: str
    outcome: str
    matches: list[MatchOut]
    list_ids: list[uuid.UUID]
    screened_at: int

    @classmethod
    def of(cls, result: ScreeningResult) -> ScreeningOut:
        return cls(
            name=result.name,
            normalised_name=result.normalised_name,
            subject=result.subject,
            reference=result.reference,
            outcome=result.outcome.value,
            matches=[MatchOut.of(match) for match in result.matches],
            list_ids=list(result.list_ids),
            screened_at=result.screened_at,
        )


class EventOut(BaseModel):
    action: str
    actor: str
    at: int
    subject: str
    reference: str
    note: str

    @classmethod
    def of(cls, event: ReviewEvent) -> EventOut:
        return cls(
            action=event.action,
            actor=event.actor,
            at=event.at,
            subject=event.subject,
            reference=event.reference,
            note=event.note,
        )


class ReviewOut(BaseModel):
    id: uuid.UUID
    status: str
    outcome: str
    score: float
    name: str
    normalised_name: str
    subject: str
    reference: str
    source: str
    list_id: uuid.UUID
    list_version: int
    entry_id: uuid.UUID
    entry_ref: str
    entry_name: str
    matched_name: str
    hits: int
    created_at: int
    last_hit_at: int
    resolved_at: int | None
    resolved_by: str | None
    note: str | None
    events: list[EventOut] | None = None

    @classmethod
    def of(cls, review: Review, events: list[ReviewEvent] | None = None) -> ReviewOut:
        return cls(
            id=review.id,
            status=review.status.value,
            outcome=review.outcome.value,
            score=review.score,
            name=review.name,
            normalised_name=review.normalised_name,
            subject=review.subject,
            reference=review.reference,
            source=review.source,
            list_id=review.list_id,
            list_version=review.list_version,
            entry_id=review.entry_id,
            entry_ref=review.entry_ref,
            entry_name=review.entry_name,
            matched_name=review.matched_name,
            hits=review.hits,
            created_at=review.created_at,
            last_hit_at=review.last_hit_at,
            resolved_at=review.resolved_at,
            resolved_by=review.resolved_by,
            note=review.note,
            events=None if events is None else [EventOut.of(event) for event in events],
        )


class ResolveIn(_In):
    decision: Literal["release", "confirm"]
    reviewer: str = Field(min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=1_000)


class ObservationOut(BaseModel):
    id: uuid.UUID
    direction: str
    amount_minor: int
    currency: str
    per_transaction_limit_minor: int | None
    reference: str
    observed_at: int

    @classmethod
    def of(cls, observation: Observation) -> ObservationOut:
        return cls(
            id=observation.id,
            direction=observation.direction.value,
            amount_minor=observation.amount_minor,
            currency=observation.currency,
            per_transaction_limit_minor=observation.per_transaction_limit_minor,
            reference=observation.reference,
            observed_at=observation.observed_at,
        )


class AlertOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    rule: str
    direction: str
    currency: str
    status: str
    window_start: int
    window_end: int
    observation_count: int
    total_minor: int
    detail: str
    created_at: int
    updated_at: int
    closed_at: int | None
    closed_by: str | None
    note: str | None
    observations: list[ObservationOut] | None = None

    @classmethod
    def of(cls, alert: Alert, observations: list[Observation] | None = None) -> AlertOut:
        return cls(
            id=alert.id,
            customer_id=alert.customer_id,
            rule=alert.rule.value,
            direction=alert.direction.value,
            currency=alert.currency,
            status=alert.status.value,
            window_start=alert.window_start,
            window_end=alert.window_end,
            observation_count=alert.observation_count,
            total_minor=alert.total_minor,
            detail=alert.detail,
            created_at=alert.created_at,
            updated_at=alert.updated_at,
            closed_at=alert.closed_at,
            closed_by=alert.closed_by,
            note=alert.note,
            observations=(
                None
                if observations is None
                else [ObservationOut.of(observation) for observation in observations]
            ),
        )


class CloseIn(_In):
    reviewer: str = Field(min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=1_000)


StatusFilter = Annotated[str, Query(description="open, a closed state, or all")]


# ---------------------------------------------------------------------- lists
@router.get("/lists")
async def lists(
    container: ContainerDep,
    _: OperatorDep,
    include_inactive: Annotated[bool, Query(alias="all")] = False,
) -> list[ListOut]:
    """The active version of every list (all versions with ?all=true)."""
    screening = _screening(container)
    found = await run_in_threadpool(lambda: screening.lists(include_inactive=include_inactive))
    return [ListOut.of(item) for item in found]


@router.post(
    "/lists/{source}",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_list(
    source: str,
    request: Request,
    container: ContainerDep,
    _: OperatorDep,
    imported_by: Annotated[str, Query(min_length=1, max_length=100)] = "operator",
) -> ListOut:
    """Import a list file as the source's new version: CSV (text/csv) or the UN consolidated
    list (application/xml). The previous version stops being matched."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    list_format = LIST_MEDIA_TYPES.get(media_type)
    if list_format is None:
        raise DomainError(
            ScreeningError.FORMAT_UNSUPPORTED,
            "send the list as text/csv or as application/xml (UN consolidated list)",
            status=415,
            fields={"content_type": media_type[:80]},
        )
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DomainError(
            ScreeningError.LIST_INVALID,
            f"the list is not UTF-8 text (byte {error.start})",
            status=422,
            fields={"byte": error.start},
        ) from None
    screening = _screening(container)
    imported = await run_in_threadpool(
        lambda: screening.import_version(
            source, text, list_format=list_format, imported_by=imported_by
        )
    )
    return ListOut.of(imported)


# ---------------------------------------------------------------------- screening
@router.post("/screenings")
async def screen(body: ScreenIn, container: ContainerDep, _: OperatorDep) -> ScreeningOut:
    """Screen one name; a review or block opens (or reuses) a review."""
    screening = _screening(container)
    result = await run_in_threadpool(
        lambda: screening.screen(body.name, subject=body.subject, reference=body.reference)
    )
    return ScreeningOut.of(result)


@router.get("/reviews")
async def reviews(
    container: ContainerDep,
    _: OperatorDep,
    status: StatusFilter = "open",
    limit: Annotated[int, Query(ge=1, le=REVIEWS_PAGE_MAX)] = REVIEWS_PAGE_DEFAULT,
) -> list[ReviewOut]:
    """The review queue, oldest first: open (default), released, confirmed or all."""
    screening = _screening(container)
    chosen = None if status == "all" else status
    found = await run_in_threadpool(screening.reviews, chosen, limit)
    return [ReviewOut.of(review) for review in found]


@router.get("/reviews/{review_id}")
async def review(review_id: uuid.UUID, container: ContainerDep, _: OperatorDep) -> ReviewOut:
    """One review with its trail: opened, every later hit, the decision."""
    screening = _screening(container)
    found = await run_in_threadpool(screening.review, review_id)
    events = await run_in_threadpool(screening.review_events, review_id)
    return ReviewOut.of(found, events)


@router.post("/reviews/{review_id}/resolve")
async def resolve(
    review_id: uuid.UUID, body: ResolveIn, container: ContainerDep, _: OperatorDep
) -> ReviewOut:
    """Release (a false positive: the same name and entry screen clear later) or confirm."""
    screening = _screening(container)
    resolved = await run_in_threadpool(
        screening.resolve, review_id, body.decision, body.reviewer, body.note
    )
    events = await run_in_threadpool(screening.review_events, review_id)
    return ReviewOut.of(resolved, events)


# ---------------------------------------------------------------------- monitoring
@router.get("/alerts")
async def alerts(
    container: ContainerDep,
    _: OperatorDep,
    status: StatusFilter = "open",
    limit: Annotated[int, Query(ge=1, le=ALERTS_PAGE_MAX)] = ALERTS_PAGE_DEFAULT,
    customer_id: uuid.UUID | None = None,
) -> list[AlertOut]:
    """Monitoring alerts, oldest first: open (default), closed or all."""
    monitoring = _monitoring(container)
    chosen = None if status == "all" else status
    found = await run_in_threadpool(
        lambda: monitoring.alerts(chosen, limit, customer_id=customer_id)
    )
    return [AlertOut.of(alert) for alert in found]


@router.get("/alerts/{alert_id}")
async def alert(alert_id: uuid.UUID, container: ContainerDep, _: OperatorDep) -> AlertOut:
    """One alert with the payments in it."""
    monitoring = _monitoring(container)
    found = await run_in_threadpool(monitoring.alert, alert_id)
    observations = await run_in_threadpool(monitoring.alert_observations, alert_id)
    return AlertOut.of(found, observations)


@router.post("/alerts/{alert_id}/close")
async def close_alert(
    alert_id: uuid.UUID, body: CloseIn, container: ContainerDep, _: OperatorDep
) -> AlertOut:
    monitoring = _monitoring(container)
    closed = await run_in_threadpool(monitoring.close_alert, alert_id, body.reviewer, body.note)
    return AlertOut.of(closed)
