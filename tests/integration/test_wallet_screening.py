"""Screening against imported lists, on SQLite and PostgreSQL: versions, the review queue,
remembered decisions, bulk screening, and the schema the migration creates."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tijarat.bootstrap import Container, alembic_config, create_database_engine, migrate
from tijarat.kernel.errors import DomainError
from tijarat.wallet.screening import Outcome, ReviewStatus, Screening
from tijarat.wallet.screening_store import metadata, reviews_table

SAMPLE = Path(__file__).parents[2] / "data" / "sanctions-sample.csv"
HEADER = "id,name,aliases,type,programme,country\n"
ZARBAKHT = "T1,Mohammed Qasim Zarbakht,Qasim Zarbakht,individual,FICTIONAL,PK\n"
TARKHANI = "T2,Syed Farooq Tarkhani,,individual,FICTIONAL,\n"


@pytest.fixture
def screening(container: Container) -> Screening:
    return Screening(container.engine, container.clock)


def _ours(item: object, name: str | None, kind: str, *_: object) -> bool:
    table = name if kind == "table" else getattr(getattr(item, "table", None), "name", "")
    return str(table).startswith(("wallet_screening_", "wallet_monitoring_"))


def test_the_migration_creates_what_the_store_describes(container: Container) -> None:
    with container.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _ours})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_the_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        migrate(engine, "0007_wallet_screening")
        command.downgrade(alembic_config(engine), "0006_wallet")
        names = set(sa.inspect(engine).get_table_names())
        assert not {
            table
            for table in names
            if table.startswith(("wallet_screening_", "wallet_monitoring_"))
        }
        migrate(engine, "0007_wallet_screening")
        assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_lists_are_versioned_and_only_the_newest_is_matched(screening: Screening) -> None:
    assert screening.screen("Qasim Zarbakht", subject="payee", reference="p0").outcome == "clear"
    assert screening.import_list("local", HEADER + ZARBAKHT + TARKHANI) == 2
    first = screening.screen("Muhammad Qasim Zarbakht", subject="payee", reference="p1")
    assert first.outcome is Outcome.BLOCK
    (match,) = first.matches
    assert (match.entry_ref, match.source, match.list_version, match.score) == (
        "T1",
        "local",
        1,
        100.0,
    )
    assert match.entry_name == "Mohammed Qasim Zarbakht"

    second = screening.import_version("LOCAL", HEADER + TARKHANI)
    assert (second.source, second.version, second.entry_count) == ("local", 2, 1)
    later = screening.screen("Muhammad Qasim Zarbakht", subject="payee", reference="p2")
    assert later.outcome is Outcome.CLEAR
    assert later.list_ids == (second.id,)
    assert [(item.version, item.active) for item in screening.lists()] == [(2, True)]
    versions = screening.lists(include_inactive=True)
    assert [(item.version, item.active) for item in versions] == [(1, False), (2, True)]
    kept = screening.entries(versions[0].id)  # the old version stays on record
    assert [entry.entry_ref for entry in kept] == ["T1", "T2"]

    screening.import_list("sample", SAMPLE.read_text(encoding="utf-8"))
    both = screening.screen("Farooq Tarkhani", subject="payer", reference="p3")
    assert {match.source for match in both.matches} == {"local", "sample"}


def test_a_malformed_file_changes_nothing(screening: Screening) -> None:
    screening.import_list("local", HEADER + ZARBAKHT)
    with pytest.raises(DomainError) as raised:
        screening.import_list("local", HEADER + TARKHANI + "T3,Ali,,someone,P,\n")
    assert raised.value.fields["line"] == 3
    assert [(item.version, item.entry_count) for item in screening.lists()] == [(1, 1)]
    for source, code in (("bad source!", "screening_source_invalid"), ("", "")):
        with pytest.raises(DomainError) as refused:
            screening.import_list(source, HEADER + ZARBAKHT)
        assert refused.value.code == (code or "screening_source_invalid")
    with pytest.raises(DomainError) as unsupported:
        screening.import_list("local", HEADER + ZARBAKHT, list_format="ofac")
    assert unsupported.value.status == 415
    assert len(screening.lists(include_inactive=True)) == 1


def test_reviews_are_reused_trailed_and_resolved_once(
    screening: Screening, container: Container
) -> None:
    screening.import_list("local", HEADER + ZARBAKHT + TARKHANI)
    first = screening.screen("Syed Farooq Tarkhanee", subject="payee", reference="pay-1")
    assert first.outcome is Outcome.REVIEW
    (review_id,) = first.review_ids
    container.clock.advance(seconds=60)
    # Another spelling of the same name, for another payment: the same review.
    again = screening.screen("Sayyid Farooq TARKHANEE", subject="payee", reference="pay-2")
    assert again.review_ids == (review_id,)
    (review,) = screening.reviews()
    assert (review.id, review.status, review.outcome, review.hits) == (
        review_id,
        ReviewStatus.OPEN,
        Outcome.REVIEW,
        2,
    )
    assert (review.entry_ref, review.reference, review.name) == (
        "T2",
        "pay-1",
        "Syed Farooq Tarkhanee",
    )

    with pytest.raises(DomainError) as no_note:
        screening.resolve(review_id, "release", "ayesha", "  ")
    assert no_note.value.code == "screening_request_invalid"
    with pytest.raises(DomainError) as bad:
        screening.resolve(review_id, "ignore", "ayesha", "why")
    assert bad.value.code == "screening_decision_invalid"
    container.clock.advance(seconds=60)
    released = screening.resolve(review_id, "release", "ayesha", "different father's name, CNIC")
    assert released.status is ReviewStatus.RELEASED
    assert (released.resolved_by, released.resolved_at) == ("ayesha", container.clock.now_ns())
    with pytest.raises(DomainError) as twice:
        screening.resolve(review_id, "confirm", "bilal", "second opinion")
    assert (twice.value.code, twice.value.status) == ("screening_review_already_resolved", 409)

    # The customer retries: the remembered release clears the same name against that entry.
    retry = screening.screen("Syed Farooq Tarkhanee", subject="payee", reference="pay-3")
    assert retry.outcome is Outcome.CLEAR
    (match,) = retry.matches
    assert (match.decision, match.review_id) == (ReviewStatus.RELEASED, review_id)
    assert screening.reviews() == []
    trail = screening.review_events(review_id)
    assert [(e.action, e.actor, e.reference) for e in trail] == [
        ("opened", "screening", "pay-1"),
        ("hit", "screening", "pay-2"),
        ("released", "ayesha", "pay-1"),
        ("hit", "screening", "pay-3"),
    ]
    assert trail[2].note == "different father's name, CNIC"
    assert trail[0].at < trail[1].at < trail[2].at
    with pytest.raises(DomainError) as missing:
        screening.review(uuid.UUID(int=1))
    assert missing.value.status == 404


def test_a_confirmed_match_blocks_later_screens(screening: Screening) -> None:
    screening.import_list("local", HEADER + TARKHANI)
    (review_id,) = screening.screen(
        "Syed Farooq Tarkhanee", subject="customer", reference="c1"
    ).review_ids
    screening.resolve(review_id, "confirm", "ayesha", "same person: date of birth matches")
    later = screening.screen("Farooq Tarkhanee Syed", subject="payer", reference="p9")
    assert later.outcome is Outcome.BLOCK
    assert later.matches[0].decision is ReviewStatus.CONFIRMED
    assert screening.reviews(status="confirmed")[0].id == review_id
    assert screening.reviews(status=None)[0].id == review_id


def test_decisions_hold_across_versions_while_the_entry_is_unchanged(
    screening: Screening,
) -> None:
    screening.import_list("local", HEADER + TARKHANI)
    first = screening.screen("Syed Farooq Tarkhanee", subject="payee", reference="a")
    (review_id,) = first.review_ids
    screening.resolve(review_id, "release", "ayesha", "a shopkeeper in Skardu, not the listed man")
    screening.import_list("local", HEADER + TARKHANI + ZARBAKHT)  # T2 unchanged
    same = screening.screen("Syed Farooq Tarkhanee", subject="payee", reference="b")
    assert (same.outcome, same.matches[0].list_version) == (Outcome.CLEAR, 2)
    changed = TARKHANI.replace(",,individual", ",Farooq Tarkhany,individual")
    screening.import_list("local", HEADER + changed)  # T2 gained an alias: look again
    fresh = screening.screen("Syed Farooq Tarkhanee", subject="payee", reference="c")
    assert fresh.outcome is Outcome.REVIEW
    assert fresh.review_ids != (review_id,)
    assert [review.list_version for review in screening.reviews()] == [3]


def test_screen_many_screens_a_payout_file_in_order(
    screening: Screening, container: Container
) -> None:
    screening.import_list("sample", SAMPLE.read_text(encoding="utf-8"))
    names = ["Bilal Ahmed", "Muhammad Kasim Zarbakht", "Ayesha Siddiqui", "Qasim Zarbakht"]
    names += ["Muhammad Kasim Zarbakht", "Noor Zarnigar Traders (Pvt) Ltd", "عثمان غنی پراچہ کوٹ"]
    results = screening.screen_many(
        names, subject="payee", references=[f"row-{n}" for n in range(len(names))]
    )
    assert [r.outcome.value for r in results] == [
        "clear",
        "block",
        "clear",
        "block",
        "block",
        "block",
        "block",
    ]
    assert [r.reference for r in results] == [f"row-{n}" for n in range(len(names))]
    assert results[1].review_ids == results[4].review_ids  # one review for the repeated payee
    assert results[5].matches[0].entry_ref == "TEST-0008"
    assert results[6].matches[0].matched_name == "عثمان غنی پراچہ کوٹ"
    assert len(screening.reviews()) == 4

    with container.engine.connect() as connection:
        before = connection.execute(sa.select(sa.func.count()).select_from(reviews_table))
        count = before.scalar_one()
    with pytest.raises(DomainError) as refused:
        screening.screen_many(["Yousaf Hussain Qaimkhanzada", "  "], subject="payee")
    assert (refused.value.code, refused.value.fields["position"]) == ("screening_name_invalid", 1)
    with container.engine.connect() as connection:
        after = connection.execute(sa.select(sa.func.count()).select_from(reviews_table))
        assert after.scalar_one() == count
    for bad in ({"subject": "Payee!"}, {"references": ["only one"]}):
        with pytest.raises(DomainError) as invalid:
            screening.screen_many(["A", "B"], **bad)  # type: ignore[arg-type]
        assert invalid.value.code == "screening_request_invalid"
    with pytest.raises(DomainError) as bad_status:
        screening.reviews(status="pending")
    assert bad_status.value.code == "screening_request_invalid"


def test_concurrent_screens_of_one_name_open_one_review(
    screening: Screening, container: Container
) -> None:
    screening.import_list("local", HEADER + ZARBAKHT)
    other = Screening(container.engine, container.clock)  # another worker, its own cache
    results: list[Outcome] = []
    barrier = threading.Barrier(4)

    def screen(service: Screening, n: int) -> None:
        barrier.wait()
        result = service.screen("Qasim Zarbakht", subject="payee", reference=f"t{n}")
        results.append(result.outcome)

    threads = [
        threading.Thread(target=screen, args=(screening if n % 2 else other, n)) for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [Outcome.BLOCK] * 4
    (review,) = screening.reviews()
    assert review.hits == 4
    assert len(screening.review_events(review.id)) == 4
