"""Templates write exactly what the builders write, or refuse exactly what they refuse."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch.advices import ADVICES, REPORTS, Advice, Report, build_advice, build_report
from tijarat.switch.iso20022.template import Template, Templates, escape_text

T = TypeVar("T")

# Text the model accepts (no control characters), with markup, quotes, Urdu and astral ones.
characters = st.one_of(
    st.sampled_from("&<>\"' ]]>-"),
    st.sampled_from("شکریہ محمد"),
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff"),
)


def texts(length_max: int) -> st.SearchStrategy[str]:
    return st.text(characters, min_size=1, max_size=length_max).filter(str.strip)


moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - Hypothesis's bounds are naive
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5)), timezone(timedelta(0))]),
)
money = st.builds(Money, st.integers(1, 10**18 - 1), st.sampled_from(["PKR", "USD", "JPY", "KWD"]))
ibans = st.builds(
    make_pk_iban,
    st.from_regex(r"[A-Z]{4}", fullmatch=True),
    st.from_regex(r"[0-9]{1,16}", fullmatch=True),
)
advices = st.builds(
    Advice,
    message_id=texts(35),
    created_at=moments,
    payer=texts(35),
    payee=texts(35),
    end_to_end_id=texts(35),
    tx_id=texts(35),
    uetr=st.uuids(version=4),
    amount=money,
    debtor_name=texts(140),
    debtor_iban=ibans,
    creditor_name=texts(140),
    creditor_iban=ibans,
    purpose=st.one_of(st.none(), st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True)),
    remittance=st.one_of(st.none(), texts(140)),
)
reports = st.builds(
    Report,
    message_id=texts(35),
    created_at=moments,
    to=texts(35),
    status=st.sampled_from(list(iso.PaymentStatus)),
    reason=st.one_of(st.none(), st.sampled_from(list(iso.ReasonCode))),
    end_to_end_id=texts(35),
    tx_id=texts(35),
    uetr=st.uuids(version=4),
)
# One field of an advice made wrong in a way the model refuses.
wrong = st.sampled_from(
    [
        {"debtor_name": " "},
        {"creditor_name": "x" * 141},
        {"end_to_end_id": "bell\x07"},
        {"tx_id": ""},
        {"payee": "x" * 36},
        {"uetr": uuid.uuid1()},
        {"amount": Money(0, "PKR")},
        {"purpose": "lower"},
        {"remittance": "\ud800"},
        {"message_id": "\uffff"},
        # The template checks by itself what the model would (advices.check_advice): every
        # check, each with the model's code and field.
        {"debtor_name": "x" * 141},
        {"creditor_name": ""},
        {"payer": "x" * 36},
        {"payer": None},
        {"payee": " "},
        {"debtor_iban": None},
        {"creditor_iban": "PK36SCBL0000001123456702"},
        {"end_to_end_id": "x" * 36},
        {"tx_id": "x" * 36},
        {"uetr": "not a uuid"},
        {"amount": Money(10**18, "PKR")},
        {"amount": 100},
        {"purpose": ""},
        {"remittance": "x" * 141},
        {"message_id": "x" * 36},
        {"created_at": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
        {"created_at": "2026-01-01T00:00:00Z"},
        # Two wrong at once: the same one is reported first.
        {"debtor_name": "", "message_id": ""},
        {"uetr": uuid.uuid1(), "purpose": "lower"},
    ]
)
# One field of a status report made wrong (advices.check_report).
wrong_reports = st.sampled_from(
    [
        {"message_id": ""},
        {"message_id": "x" * 36},
        {"created_at": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
        {"to": None},
        {"to": "x" * 36},
        {"status": "ACSC"},
        {"status": iso.PaymentStatus.RJCT, "reason": None},
        {"reason": "AM04"},
        {"end_to_end_id": "bell\x07"},
        {"end_to_end_id": None, "tx_id": None, "uetr": None},
        {"tx_id": "x" * 36},
        {"uetr": uuid.uuid1()},
        {"to": "", "message_id": ""},
    ]
)


def assert_same(templates: Templates[T], build: Callable[[T], bytes], values: T) -> None:
    """The template's bytes are the builder's, or both refuse with the same code."""
    try:
        expected = build(values)
    except DomainError as error:
        refused = error
    else:
        assert templates.write(values) == expected
        iso.parse_envelope(expected)  # and it is a valid envelope, read back
        return
    with pytest.raises(DomainError) as caught:
        templates.write(values)
    assert (caught.value.code, caught.value.fields) == (refused.code, refused.fields)


@settings(max_examples=400, deadline=None)
@given(advices)
def test_a_credit_advice_from_its_template_is_the_built_one(advice: Advice) -> None:
    assert_same(ADVICES, build_advice, advice)


@settings(max_examples=100, deadline=None)
@given(advices, wrong)
def test_what_the_builder_refuses_the_template_refuses(
    advice: Advice, change: dict[str, object]
) -> None:
    with pytest.raises(DomainError):
        build_advice(replace(advice, **change))  # type: ignore[arg-type]
    assert_same(ADVICES, build_advice, replace(advice, **change))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(reports)
def test_a_status_report_from_its_template_is_the_built_one(report: Report) -> None:
    assert_same(REPORTS, build_report, report)


@settings(max_examples=100, deadline=None)
@given(reports, wrong_reports)
def test_what_the_builder_refuses_or_writes_the_report_template_does_too(
    report: Report, change: dict[str, object]
) -> None:
    assert_same(REPORTS, build_report, replace(report, **change))  # type: ignore[arg-type]


def test_escaping_is_libxml2s() -> None:
    assert escape_text("a & b < c > d \r e \" f ' g") == (
        "a &amp; b &lt; c &gt; d &#13; e \" f ' g"
    )


def text_of(values: tuple[str, str]) -> bytes:
    return f"<a>{escape_text(values[0])}</a><b>{escape_text(values[1])}</b>".encode()


def test_a_template_refuses_markers_it_cannot_place() -> None:
    holes = (lambda v: v[0], lambda v: v[1])
    with pytest.raises(ValueError, match="inside another"):
        Template(text_of, ("MARK", "MARKER"), holes)
    with pytest.raises(ValueError, match="not in the built message"):
        Template(lambda v: b"<a/>", ("ONE", "TWO"), holes)
    with pytest.raises(ValueError, match="overlaps"):
        Template(lambda v: b"<a>ONETWO</a>", ("ONET", "ETWO"), holes)
    template = Template(text_of, ("ONE", "TWO"), holes)
    assert template.fill(("<&>", "two")) == b"<a>&lt;&amp;&gt;</a><b>two</b>"
    braced = Template(lambda v: f"<a b='{{0}}'>{v[0]}{{}}</a>".encode(), ("ONE", ""), holes)
    assert braced.fill(("{1}", "")) == b"<a b='{0}'>{1}{}</a>"


def test_a_template_leaves_out_a_hole_absent_from_its_shape() -> None:
    template = Template(lambda v: f"<a>{v[0]}</a>".encode(), ("ONE", ""), (lambda v: v[0],) * 1)
    assert template.fill(("x", "")) == b"<a>x</a>"
    made = Templates(
        build=lambda v: f"<a>{v[0]}</a>{f'<b>{v[1]}</b>' if v[1] else ''}".encode(),
        holes=(lambda v: v[0], lambda v: v[1]),
        shape=lambda v: bool(v[1]),
        markers=lambda v: ("ONE", "TWO" if v[1] else ""),
        check=lambda v: None,
    )
    assert made.write(("x", "")) == b"<a>x</a>"
    assert made.write(("x", "y")) == b"<a>x</a><b>y</b>"
    assert made.write(("z", "")) == b"<a>z</a>"


def test_a_real_advice_keeps_its_values() -> None:
    advice = Advice(
        message_id="HUB1",
        created_at=datetime(2026, 11, 25, 7, tzinfo=UTC),
        payer="MEZNPKKA",
        payee="HABBPKKA",
        end_to_end_id="E2E-1",
        tx_id="TX-1",
        uetr=uuid.uuid4(),
        amount=Money(1_250_00, "PKR"),
        debtor_name="Skardu Apricot & Co <Pvt>",
        debtor_iban=make_pk_iban("MEZN", "1"),
        creditor_name="کراچی سپلائرز",
        creditor_iban=make_pk_iban("HABB", "2"),
        purpose="GDDS",
        remittance="Invoice 7",
    )
    envelope = iso.parse_envelope(ADVICES.write(advice))
    document = envelope.document
    assert isinstance(document, iso.CustomerCreditTransfer)
    (transaction,) = document.transactions
    assert transaction.debtor.name == advice.debtor_name
    assert transaction.creditor.name == advice.creditor_name
    assert transaction.amount == advice.amount
    assert transaction.uetr == advice.uetr
    assert envelope.header.to_agent.member_id == "HABBPKKA"
