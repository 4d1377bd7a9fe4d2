"""The flat readings (one XSLT pass: pain.001 transactions by iso20022/_xml.py: Flattener,
pacs.002 envelopes by iso20022/flat.py) against the element readers they stand in for: the
same model for every message, the same refusal (code, message, fields, line) for every
message one of them refuses."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch.iso20022 import _xml as iso20022_xml
from tijarat.switch.iso20022 import flat as flat_reader
from tijarat.switch.iso20022 import pain
from tijarat.switch.iso20022.values import decimal_sum_text

# Text the model accepts (no control characters), with markup, quotes and Urdu.
characters = st.one_of(
    st.sampled_from("&<>\"' ]]>-"),
    st.sampled_from("شکریہ محمد"),
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff"),
)
ibans = st.builds(
    make_pk_iban,
    st.from_regex(r"[A-Z]{4}", fullmatch=True),
    st.from_regex(r"[0-9]{1,16}", fullmatch=True),
)


def texts(length_max: int) -> st.SearchStrategy[str]:
    return st.text(characters, min_size=1, max_size=length_max).filter(str.strip)


mobiles = st.builds(
    lambda prefix, digits: MobileNumber.parse(f"+92{prefix}{digits}"),
    st.sampled_from(["300", "311", "321", "333", "345"]),
    st.from_regex(r"[0-9]{7}", fullmatch=True),
)
accounts = st.one_of(
    st.builds(iso.Account, iban=ibans),
    st.builds(iso.Account, proxy=mobiles),
    st.builds(iso.Account, iban=ibans, proxy=mobiles),
    st.builds(iso.Account, hub_account=st.from_regex(r"[A-Z0-9]{1,34}", fullmatch=True)),
)
agents = st.one_of(
    st.none(),
    st.builds(iso.Agent, member_id=texts(35)),
    st.builds(
        iso.Agent,
        bic=st.sampled_from(["HABBPKKA", "MEZNPKKAXXX"]),
        member_id=st.one_of(st.none(), texts(35)),
        name=st.one_of(st.none(), texts(140)),
    ),
)
transactions = st.builds(
    iso.InitiationTransaction,
    end_to_end_id=texts(35),
    amount=st.builds(Money, st.integers(1, 10**15), st.sampled_from(["PKR", "USD", "JPY"])),
    creditor=st.builds(iso.Party, texts(140)),
    creditor_account=accounts,
    creditor_agent=agents,
    instruction_id=st.one_of(st.none(), texts(35)),
    uetr=st.one_of(st.none(), st.uuids(version=4)),
    purpose=st.one_of(st.none(), st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True)),
    remittance_information=st.lists(texts(140), max_size=3).map(tuple),
)


def initiation(*groups: tuple[iso.InitiationTransaction, ...]) -> bytes:
    debtor = iso.Party("Skardu Apricot Traders")
    return iso.build_pain001(
        iso.CustomerCreditTransferInitiation(
            message_id="BULK-1",
            created_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
            initiating_party=debtor,
            payment_instructions=tuple(
                iso.PaymentInstruction(
                    payment_information_id=f"PMT-{index}",
                    requested_execution=date(2026, 11, 25),
                    debtor=debtor,
                    debtor_account=iso.Account(iban=make_pk_iban("MEZN", "1")),
                    debtor_agent=iso.Agent(member_id="MEZNPKKA"),
                    transactions=group,
                )
                for index, group in enumerate(groups)
            ),
        )
    )


@contextmanager
def elements_only() -> Iterator[None]:
    """Every transaction read by the element readers, as before the flat form."""
    with mock.patch.object(pain, "_initiation_of", return_value=None):
        yield


def outcome(read: Callable[[bytes], object], xml: bytes) -> object:
    try:
        return read(xml)
    except DomainError as error:
        return (error.code, error.message, error.fields, error.status)


def assert_read_alike(
    xml: bytes,
    read: Callable[[bytes], object] = iso.parse_pain001,
    by_elements_only: Callable[[], AbstractContextManager[None]] = elements_only,
) -> object:
    """`read` gives the same answer, model or refusal, with and without its flat reading."""
    flat = outcome(read, xml)
    with by_elements_only():
        by_elements = outcome(read, xml)
    assert flat == by_elements
    return flat


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(transactions, min_size=1, max_size=4), min_size=1, max_size=3))
def test_the_flat_reading_is_the_element_reading(
    groups: list[list[iso.InitiationTransaction]],
) -> None:
    xml = initiation(*(tuple(group) for group in groups))
    read = assert_read_alike(xml)
    assert isinstance(read, iso.CustomerCreditTransferInitiation)
    assert [list(i.transactions) for i in read.payment_instructions] == groups


def test_the_flat_form_carries_the_common_transaction() -> None:
    """A plain payroll row (IBAN, name, amount, one remittance line) never needs the element
    readers: otherwise the flat form would be dead weight."""
    row = iso.InitiationTransaction(
        end_to_end_id="SAL-1",
        amount=Money(5_000_000, "PKR"),
        creditor=iso.Party("Muhammad Asif Khan"),
        creditor_account=iso.Account(iban=make_pk_iban("HABB", "7")),
        uetr=uuid.uuid4(),
        purpose="SALA",
        remittance_information=("November salary",),
    )
    with mock.patch.object(
        pain, "_read_initiation_transaction", side_effect=AssertionError("read by elements")
    ):
        read = iso.parse_pain001(initiation((row, replace(row, end_to_end_id="SAL-2"))))
    assert read.payment_instructions[0].transactions[0] == row


BASE = iso.InitiationTransaction(
    end_to_end_id="SAL-1",
    amount=Money(5_000_000, "PKR"),
    creditor=iso.Party("Muhammad Asif Khan"),
    creditor_account=iso.Account(iban=make_pk_iban("HABB", "7")),
    purpose="SALA",
    remittance_information=("November salary",),
)
ALIAS = iso.InitiationTransaction(
    end_to_end_id="SAL-2",
    amount=Money(1_000, "PKR"),
    creditor=iso.Party("Amna"),
    creditor_account=iso.Account(proxy=MobileNumber.parse("03001234567")),
)


def _replacing(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return edit


IBAN = make_pk_iban("HABB", "7").compact
# Documents the XSDs accept and one reader might not: each edit applied to a built one.
EDITS = {
    "iban checksum": _replacing(IBAN, IBAN[:2] + "00" + IBAN[4:]),
    "three decimals": _replacing(">50000.00<", ">50000.001<"),
    "unknown currency": _replacing('Ccy="PKR"', 'Ccy="ZZZ"'),
    "equivalent amount": _replacing(
        '<InstdAmt Ccy="PKR">50000.00</InstdAmt>',
        '<EqvtAmt><Amt Ccy="PKR">50000.00</Amt><CcyOfTrf>PKR</CcyOfTrf></EqvtAmt>',
    ),
    "proprietary purpose": _replacing("<Cd>SALA</Cd>", "<Prtry>SALARY</Prtry>"),
    "two remittance lines": _replacing(
        "<Ustrd>November salary</Ustrd>", "<Ustrd>November</Ustrd><Ustrd>salary</Ustrd>"
    ),
    "empty remittance": _replacing("<Ustrd>November salary</Ustrd>", "<Strd/>"),
    "other scheme": _replacing("<Prtry>MSISDN</Prtry>", "<Prtry>CNIC</Prtry>"),
    "foreign alias": _replacing(">+923001234567</Id>", ">+441234567890</Id>"),
    "proxy not raast": _replacing(
        "</Id></CdtrAcct>",
        "</Id><Prxy><Tp><Cd>TELE</Cd></Tp><Id>+923001234567</Id></Prxy></CdtrAcct>",
    ),
    "proxy differs": _replacing("<Id>+923001234567</Id></Prxy>", "<Id>+923009999999</Id></Prxy>"),
    "blank name": _replacing("<Nm>Muhammad Asif Khan</Nm>", "<Nm>   </Nm>"),
    "escaped name": _replacing(
        "<Nm>Muhammad Asif Khan</Nm>", "<Nm>A &amp; B &#x631; &lt;C&gt;</Nm>"
    ),
    "bad uetr": _replacing(
        "<EndToEndId>SAL-1</EndToEndId>",
        "<EndToEndId>SAL-1</EndToEndId><UETR>00000000-0000-1000-8000-000000000000</UETR>",
    ),
    "indented": lambda text: text.replace("><", ">\n  <"),
    "prefixed": lambda text: (
        text.replace("<", "<p:")
        .replace("<p:/", "</p:")
        .replace("<p:?xml", "<?xml")
        .replace('xmlns="', 'xmlns:p="')
    ),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_an_edited_message_reads_or_is_refused_alike(edit: Callable[[str], str]) -> None:
    xml = edit(initiation((BASE, ALIAS)).decode()).encode()
    assert assert_read_alike(xml) is not None


def test_a_refused_transaction_is_located_by_its_element() -> None:
    xml = EDITS["iban checksum"](initiation((ALIAS, BASE)).decode()).encode()
    with pytest.raises(DomainError) as refused:
        iso.parse_pain001(xml)
    assert refused.value.code == "iso20022_invalid_field"
    assert refused.value.fields["line"] is not None


@given(
    st.lists(
        st.builds(Money, st.integers(1, 10**17), st.sampled_from(["PKR", "JPY", "KWD", "USD"])),
        max_size=8,
    )
)
def test_the_control_sum_adds_minor_units_as_the_decimals_would(amounts: list[Money]) -> None:
    by_decimals = sum((amount.to_decimal() for amount in amounts), Decimal(0))
    assert decimal_sum_text(amounts) == format(by_decimals, "f")


# ---------------------------------------------------------------------------- pacs.002
# The hub reads one pacs.002 envelope per payment (the payee's answer): iso20022/flat.py
# reads AppHdr and Document in one pass; the element readers are the reference.

reasons = st.one_of(
    st.builds(iso.Reason, code=st.sampled_from(list(iso.ReasonCode))),
    st.builds(
        iso.Reason,
        proprietary=texts(35),
        additional_information=st.lists(texts(105), max_size=2).map(tuple),
    ),
    st.builds(
        iso.Reason,
        code=st.sampled_from(list(iso.ReasonCode)),
        additional_information=st.lists(texts(105), min_size=1, max_size=1).map(tuple),
    ),
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - Hypothesis's bounds are naive
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5))]),
)
original_groups = st.builds(
    iso.OriginalGroupReference,
    original_message_id=texts(35),
    original_message_name=st.sampled_from(["pacs.008.001.08", "pacs.004.001.09"]),
    original_created_at=st.one_of(st.none(), moments),
)


@st.composite
def statuses(draw: st.DrawFn) -> iso.TransactionStatus:
    status = draw(st.sampled_from(list(iso.PaymentStatus)))
    count = draw(st.integers(1 if status is iso.PaymentStatus.RJCT else 0, 2))
    ids = draw(st.lists(st.booleans(), min_size=3, max_size=3).filter(any))
    return iso.TransactionStatus(
        status=status,
        original_end_to_end_id=draw(texts(35)) if ids[0] else None,
        original_transaction_id=draw(texts(35)) if ids[1] else None,
        original_uetr=draw(st.uuids(version=4)) if ids[2] else None,
        original_instruction_id=draw(st.one_of(st.none(), texts(35))),
        original_group=draw(st.one_of(st.none(), original_groups)),
        status_id=draw(st.one_of(st.none(), texts(35))),
        reasons=tuple(draw(reasons) for _ in range(count)),
        acceptance_datetime=draw(st.one_of(st.none(), moments)),
    )


@st.composite
def group_statuses(draw: st.DrawFn) -> iso.OriginalGroupStatus:
    status = draw(st.one_of(st.none(), st.sampled_from(list(iso.PaymentStatus))))
    count = draw(st.integers(1 if status is iso.PaymentStatus.RJCT else 0, 2))
    return iso.OriginalGroupStatus(
        original_message_id=draw(texts(35)),
        original_message_name="pacs.008.001.08",
        original_created_at=draw(st.one_of(st.none(), moments)),
        status=status,
        reasons=tuple(draw(reasons) for _ in range(count)),
    )


reports = st.builds(
    iso.PaymentStatusReport,
    message_id=texts(35),
    created_at=moments,
    original_groups=st.lists(group_statuses(), max_size=2).map(tuple),
    transactions=st.lists(statuses(), min_size=1, max_size=3).map(tuple),
    instructing_agent=agents,
    instructed_agent=agents,
)


@contextmanager
def envelopes_by_elements() -> Iterator[None]:
    with mock.patch("tijarat.switch.iso20022.envelope.read_status_envelope", return_value=None):
        yield


def assert_envelope_read_alike(xml: bytes) -> object:
    return assert_read_alike(xml, iso.parse_envelope, envelopes_by_elements)


@settings(max_examples=200, deadline=None)
@given(reports, texts(35), st.booleans(), st.one_of(st.none(), texts(35)))
def test_a_pacs002_envelope_reads_flat_as_by_its_elements(
    report: iso.PaymentStatusReport, sender: str, duplicate: bool, service: str | None
) -> None:
    envelope = iso.Envelope.of(report, sender=sender, receiver="RAASTHUB")
    header = replace(envelope.header, possible_duplicate=duplicate, business_service=service)
    envelope = replace(envelope, header=header)
    read = assert_envelope_read_alike(iso.build_envelope(envelope))
    assert read == envelope


def answer(status: str = "ACSC", reason: str = "") -> bytes:
    return iso.build_envelope(
        iso.Envelope.of(
            iso.PaymentStatusReport(
                message_id="ANS-1",
                created_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
                transactions=(
                    iso.TransactionStatus(
                        status=iso.PaymentStatus(status),
                        original_end_to_end_id="E2E-1",
                        reasons=(iso.Reason(code=iso.ReasonCode(reason)),) if reason else (),
                    ),
                ),
            ),
            sender="HABBPKKA",
            receiver="RAASTHUB",
        )
    )


def test_the_common_answer_is_read_flat() -> None:
    """A payee's plain ACSC or RJCT is carried by the flat form (else it is dead weight)."""
    for xml in (answer(), answer("RJCT", "AC04")):
        root = iso20022_xml.parse_root(xml)
        assert flat_reader.read_status_envelope(root) is not None


ANSWER_EDITS: dict[str, Callable[[str], str]] = {
    "bic sender": _replacing(
        "<Fr><FIId><FinInstnId><ClrSysMmbId><MmbId>HABBPKKA</MmbId></ClrSysMmbId>",
        "<Fr><FIId><FinInstnId><BICFI>HABBPKKA</BICFI><ClrSysMmbId><MmbId>HABBPKKA</MmbId>"
        "</ClrSysMmbId>",
    ),
    "sender not an institution": _replacing(
        "<Fr><FIId><FinInstnId><ClrSysMmbId><MmbId>HABBPKKA</MmbId></ClrSysMmbId></FinInstnId>"
        "</FIId></Fr>",
        "<Fr><OrgId><Nm>Habib</Nm></OrgId></Fr>",
    ),
    "bad creation time": _replacing(
        "<CreDtTm>2026-11-25T09:30:00Z", "<CreDtTm>2026-11-25T09:30:00"
    ),
    "two reasons": _replacing(
        "<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>",
        "<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf><StsRsnInf><Rsn><Cd>AM04</Cd></Rsn>"
        "</StsRsnInf>",
    ),
    "reason unknown to the hub": _replacing("<Cd>AC04</Cd>", "<Cd>MS03</Cd>"),
    "reason without code": _replacing("<Rsn><Cd>AC04</Cd></Rsn>", ""),
    "rejection without reason": _replacing("<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>", ""),
    "no status": _replacing("<TxSts>RJCT</TxSts>", ""),
    "duplicate flag": _replacing("</CreDt>", "</CreDt><PssblDplct>true</PssblDplct>"),
    "indented": lambda text: text.replace("><", ">\n  <"),
}


@pytest.mark.parametrize("edit", ANSWER_EDITS.values(), ids=ANSWER_EDITS.keys())
def test_an_edited_answer_reads_or_is_refused_alike(edit: Callable[[str], str]) -> None:
    xml = edit(answer("RJCT", "AC04").decode()).encode()
    assert assert_envelope_read_alike(xml) is not None
