"""ISO 20022 codec: every message built, checked against the official XSD, parsed back equal.

The oracle is libxml2's XSD validator run on the schema files directly (not through the
codec's own `validate`), so a builder that drifts from the standard fails here.
"""

from __future__ import annotations

import json
import string
import threading
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch.iso20022 import (
    Account,
    AccountStatement,
    Agent,
    Balance,
    BalanceType,
    BankToCustomerStatement,
    BankTransactionCode,
    BusinessApplicationHeader,
    CreditTransferTransaction,
    CustomerCreditTransfer,
    CustomerCreditTransferInitiation,
    CustomerPaymentStatusReport,
    EntryStatus,
    Envelope,
    InitiationTransaction,
    Message,
    MessageType,
    OriginalGroupReference,
    OriginalGroupStatus,
    Party,
    PaymentInstruction,
    PaymentInstructionStatus,
    PaymentReturn,
    PaymentStatus,
    PaymentStatusReport,
    PaymentStatusRequest,
    Reason,
    ReasonCode,
    RequestToPay,
    RequestToPayInstruction,
    RequestToPayResponse,
    RequestToPayTransaction,
    ReturnTransaction,
    StatementEntry,
    StatusRequestTransaction,
    TransactionStatus,
)
from tijarat.switch.iso20022.values import check_text

PACKAGED_SCHEMAS = Path(iso.__file__).resolve().parent.parent / "schemas"
SHARED_SCHEMAS = Path("/work/shared/iso20022")
PKT = timezone(timedelta(hours=5))
NOW = datetime(2025, 6, 1, 14, 30, 5, 250000, tzinfo=PKT)
MEZN = Agent(member_id="MEZN", name="Meezan Bank")
HABB = Agent(bic="HABBPKKAXXX")
HUB = Agent(bic="SBPPPKKA")
IBAN_A = make_pk_iban("MEZN", "1234567")
IBAN_B = make_pk_iban("HABB", "7654321")
ALIAS = MobileNumber.parse("0300 1234567")

# ---------------------------------------------------------------------------- the oracle

_oracles: dict[str, etree.XMLSchema] = {}
_oracle_lock = threading.Lock()


def oracle(message_type: str) -> etree.XMLSchema:
    with _oracle_lock:
        if message_type not in _oracles:
            _oracles[message_type] = etree.XMLSchema(
                etree.parse(str(PACKAGED_SCHEMAS / f"{message_type}.xsd"))
            )
        return _oracles[message_type]


def assert_valid(xml: bytes, message_type: str) -> None:
    """Validate with a plain lxml parser and the XSD file: independent of the codec."""
    schema = oracle(message_type)
    document = etree.fromstring(xml)
    with _oracle_lock:
        valid = schema.validate(document)
        log = str(schema.error_log)
    assert valid, log


def refused(code: str, call: Any, *args: Any, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as excinfo:
        call(*args, **kwargs)
    assert excinfo.value.code == code, excinfo.value
    return excinfo.value


# ---------------------------------------------------------------------------- samples


def credit_transfer(index: int = 1, amount_minor: int = 125_000) -> CreditTransferTransaction:
    return CreditTransferTransaction(
        end_to_end_id=f"E2E-{index}",
        transaction_id=f"TX-{index}",
        uetr=uuid.UUID(int=index, version=4),
        amount=Money(amount_minor, "PKR"),
        debtor=Party("محمد علی"),
        debtor_account=Account(iban=IBAN_A),
        debtor_agent=MEZN,
        creditor=Party("Skardu Apricot Traders"),
        creditor_account=Account(iban=IBAN_B, proxy=ALIAS),
        creditor_agent=HABB,
        instruction_id=f"INSTR-{index}",
        local_instrument="P2M",
        purpose="GDDS",
        remittance_information=("Order 8841", "آرڈر کی ادائیگی"),
    )


def pacs008() -> CustomerCreditTransfer:
    return CustomerCreditTransfer(
        message_id="MSG-0001",
        created_at=NOW,
        transactions=(credit_transfer(1), credit_transfer(2, 99)),
        settlement_date=date(2025, 6, 1),
        instructing_agent=MEZN,
        instructed_agent=HUB,
    )


def pacs002() -> PaymentStatusReport:
    return PaymentStatusReport(
        message_id="STS-0001",
        created_at=NOW,
        original_groups=(
            OriginalGroupStatus(
                "MSG-0001",
                "pacs.008.001.08",
                NOW,
                PaymentStatus.PART,
                (Reason(ReasonCode.NARR, additional_information=("one of two rejected",)),),
            ),
        ),
        transactions=(
            TransactionStatus(
                status=PaymentStatus.ACSC,
                original_end_to_end_id="E2E-1",
                original_transaction_id="TX-1",
                original_uetr=uuid.UUID(int=1, version=4),
                original_instruction_id="INSTR-1",
                original_group=OriginalGroupReference("MSG-0001", "pacs.008.001.08", NOW),
                status_id="S-1",
                acceptance_datetime=NOW,
            ),
            TransactionStatus(
                status=PaymentStatus.RJCT,
                original_transaction_id="TX-2",
                reasons=(Reason(ReasonCode.AC04), Reason(proprietary="RAAST-17")),
            ),
        ),
        instructing_agent=HUB,
        instructed_agent=MEZN,
    )


def pacs028() -> PaymentStatusRequest:
    return PaymentStatusRequest(
        message_id="REQ-0001",
        created_at=NOW,
        original_groups=(OriginalGroupReference("MSG-0001", "pacs.008.001.08"),),
        transactions=(
            StatusRequestTransaction(
                original_end_to_end_id="E2E-1",
                original_transaction_id="TX-1",
                original_uetr=uuid.UUID(int=1, version=4),
                original_instruction_id="INSTR-1",
                original_group=OriginalGroupReference("MSG-0001", "pacs.008.001.08", NOW),
                status_request_id="SR-1",
            ),
        ),
        instructing_agent=MEZN,
        instructed_agent=HUB,
    )


def pacs004() -> PaymentReturn:
    return PaymentReturn(
        message_id="RTR-0001",
        created_at=NOW,
        transactions=(
            ReturnTransaction(
                return_id="R-1",
                original_end_to_end_id="E2E-1",
                original_transaction_id="TX-1",
                original_uetr=uuid.UUID(int=1, version=4),
                returned_amount=Money(100_000, "PKR"),
                reason=Reason(ReasonCode.MD06, additional_information=("customer refund",)),
                original_amount=Money(125_000, "PKR"),
                original_instruction_id="INSTR-1",
                original_group=OriginalGroupReference("MSG-0001", "pacs.008.001.08", NOW),
            ),
            ReturnTransaction(
                return_id="R-2",
                original_end_to_end_id="E2E-2",
                original_transaction_id="TX-2",
                original_uetr=uuid.UUID(int=2, version=4),
                returned_amount=Money(99, "PKR"),
                reason=Reason(ReasonCode.FOCR),
                charge_bearer=None,
            ),
        ),
        settlement_date=date(2025, 6, 2),
        instructing_agent=HABB,
        instructed_agent=HUB,
    )


def pain001() -> CustomerCreditTransferInitiation:
    payees = tuple(
        InitiationTransaction(
            end_to_end_id=f"SAL-{index}",
            amount=Money(5_000_000 + index, "PKR"),
            creditor=Party(f"کارکن {index}"),
            creditor_account=Account(iban=make_pk_iban("HABB", str(index))),
            creditor_agent=HABB if index % 2 else None,
            instruction_id=f"I-{index}" if index % 3 else None,
            uetr=uuid.UUID(int=index, version=4) if index % 2 else None,
            purpose="SALA",
            remittance_information=("June salary",),
        )
        for index in range(1, 6)
    )
    return CustomerCreditTransferInitiation(
        message_id="BULK-2025-06",
        created_at=NOW,
        initiating_party=Party("Skardu Apricot Traders"),
        payment_instructions=(
            PaymentInstruction(
                payment_information_id="PMT-1",
                requested_execution=date(2025, 6, 2),
                debtor=Party("Skardu Apricot Traders"),
                debtor_account=Account(iban=IBAN_A),
                debtor_agent=MEZN,
                transactions=payees[:3],
                batch_booking=False,
            ),
            PaymentInstruction(
                payment_information_id="PMT-2",
                requested_execution=NOW,
                debtor=Party("Skardu Apricot Traders"),
                debtor_account=Account(proxy=ALIAS),
                debtor_agent=MEZN,
                transactions=payees[3:],
                charge_bearer=None,
            ),
        ),
    )


def pain002() -> CustomerPaymentStatusReport:
    return CustomerPaymentStatusReport(
        message_id="PSR-1",
        created_at=NOW,
        original_group=OriginalGroupStatus(
            "BULK-2025-06", "pain.001.001.09", NOW, PaymentStatus.PART
        ),
        payment_instructions=(
            PaymentInstructionStatus(
                "PMT-1",
                PaymentStatus.PART,
                transactions=(
                    TransactionStatus(PaymentStatus.ACSC, original_end_to_end_id="SAL-1"),
                    TransactionStatus(
                        PaymentStatus.RJCT,
                        original_end_to_end_id="SAL-2",
                        original_uetr=uuid.UUID(int=2, version=4),
                        reasons=(Reason(ReasonCode.AC03),),
                    ),
                ),
            ),
            PaymentInstructionStatus("PMT-2", PaymentStatus.ACSP),
        ),
        initiating_party=Party("Meezan Bank"),
    )


def pain013() -> RequestToPay:
    return RequestToPay(
        message_id="RTP-1",
        created_at=NOW,
        initiating_party=Party("Karachi Packaging Co"),
        payment_instructions=(
            RequestToPayInstruction(
                requested_execution=NOW,
                debtor=Party("Skardu Apricot Traders"),
                debtor_agent=MEZN,
                transactions=(
                    RequestToPayTransaction(
                        end_to_end_id="INV-2025-77",
                        amount=Money(1_875_050, "PKR"),
                        creditor=Party("Karachi Packaging Co"),
                        creditor_account=Account(iban=IBAN_B),
                        creditor_agent=HABB,
                        uetr=uuid.UUID(int=77, version=4),
                        purpose="GDDS",
                        remittance_information=("Invoice 77",),
                    ),
                ),
                payment_information_id="RTP-PMT-1",
                expiry=date(2025, 6, 8),
                debtor_account=Account(proxy=ALIAS),
            ),
        ),
    )


def pain014() -> RequestToPayResponse:
    return RequestToPayResponse(
        message_id="RTPR-1",
        created_at=NOW,
        initiating_party=Party("Skardu Apricot Traders"),
        original_group=OriginalGroupStatus("RTP-1", "pain.013.001.07", NOW),
        payment_instructions=(
            PaymentInstructionStatus(
                "RTP-PMT-1",
                transactions=(
                    TransactionStatus(
                        PaymentStatus.RJCT,
                        original_end_to_end_id="INV-2025-77",
                        reasons=(Reason(ReasonCode.CUST),),
                        acceptance_datetime=NOW,
                    ),
                ),
            ),
        ),
    )


def camt053() -> BankToCustomerStatement:
    entries = (
        StatementEntry(
            amount=Money(125_000, "PKR"),
            status=EntryStatus.BOOK,
            bank_transaction_code=BankTransactionCode("PMNT", "RCDT", "ESCT"),
            booking_date=NOW,
            value_date=date(2025, 6, 1),
            entry_reference="N-1",
            account_servicer_reference="AS-1",
            end_to_end_id="E2E-1",
            transaction_id="TX-1",
            uetr=uuid.UUID(int=1, version=4),
            debtor=Party("محمد علی"),
            debtor_account=Account(iban=IBAN_A),
            remittance_information=("Order 8841",),
        ),
        StatementEntry(
            amount=Money(-50_000, "PKR"),
            status=EntryStatus.BOOK,
            creditor=Party("Karachi Packaging Co"),
            creditor_account=Account(proxy=ALIAS),
            additional_information="supplier payment",
        ),
        StatementEntry(amount=Money(-1, "PKR"), status=EntryStatus.PDNG),
    )
    return BankToCustomerStatement(
        message_id="STMT-2025-06-01",
        created_at=NOW,
        statements=(
            AccountStatement(
                statement_id="S-1",
                account=Account(iban=IBAN_B, proxy=ALIAS),
                balances=(
                    Balance(BalanceType.OPBD, Money(-10_000, "PKR"), date(2025, 6, 1)),
                    Balance(BalanceType.CLBD, Money(65_000, "PKR"), NOW),
                    Balance(BalanceType.CLAV, Money(0, "PKR"), NOW),
                ),
                entries=entries,
                created_at=NOW,
                period_start=NOW - timedelta(days=1),
                period_end=NOW,
                electronic_sequence_number=42,
                account_owner=Party("Skardu Apricot Traders"),
                account_servicer=HABB,
            ),
        ),
    )


SAMPLES = {
    "pacs.008.001.08": (pacs008, iso.build_pacs008, iso.parse_pacs008),
    "pacs.002.001.10": (pacs002, iso.build_pacs002, iso.parse_pacs002),
    "pacs.028.001.03": (pacs028, iso.build_pacs028, iso.parse_pacs028),
    "pacs.004.001.09": (pacs004, iso.build_pacs004, iso.parse_pacs004),
    "pain.001.001.09": (pain001, iso.build_pain001, iso.parse_pain001),
    "pain.002.001.10": (pain002, iso.build_pain002, iso.parse_pain002),
    "pain.013.001.07": (pain013, iso.build_pain013, iso.parse_pain013),
    "pain.014.001.07": (pain014, iso.build_pain014, iso.parse_pain014),
    "camt.053.001.08": (camt053, iso.build_camt053, iso.parse_camt053),
}


def header_for(message: Message) -> BusinessApplicationHeader:
    return BusinessApplicationHeader(
        from_agent=MEZN,
        to_agent=HUB,
        business_message_id=message.message_id,
        message_definition_id=message.MESSAGE_TYPE.value,
        created_at=NOW,
        business_service="RAAST",
    )


def xml_with(xml: bytes, old: str, new: str) -> bytes:
    text = xml.decode()
    assert old in text
    return text.replace(old, new, 1).encode()


# ---------------------------------------------------------------------------- schemas


def test_packaged_schemas_are_the_official_files() -> None:
    if not SHARED_SCHEMAS.is_dir():
        pytest.skip(f"{SHARED_SCHEMAS} is absent here: nothing to compare the packaged XSDs with")
    shared = {path.name: path.read_bytes() for path in SHARED_SCHEMAS.glob("*.xsd")}
    packaged = {path.name: path.read_bytes() for path in PACKAGED_SCHEMAS.glob("*.xsd")}
    assert sorted(packaged) == sorted(shared)
    for name, content in shared.items():
        assert packaged[name] == content, f"{name} differs from the official copy"


def test_every_message_type_has_a_schema() -> None:
    for message_type in MessageType:
        assert (PACKAGED_SCHEMAS / f"{message_type.value}.xsd").is_file()
        assert message_type.namespace == f"urn:iso:std:iso:20022:tech:xsd:{message_type.value}"


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("message_type", sorted(SAMPLES))
def test_build_validates_and_parses_back_equal(message_type: str) -> None:
    make, build, parse = SAMPLES[message_type]
    message = make()
    xml = build(message)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert_valid(xml, message_type)
    iso.validate(xml, message_type)
    iso.validate(xml)
    assert iso.detect_message_type(xml) == message_type
    assert parse(xml) == message
    assert iso.parse_document(xml) == message
    assert iso.build_document(message) == xml


@pytest.mark.parametrize("message_type", sorted(SAMPLES))
def test_envelope_round_trip(message_type: str) -> None:
    message = SAMPLES[message_type][0]()
    envelope = Envelope(header_for(message), message)
    xml = iso.build_envelope(envelope)
    root = etree.fromstring(xml)
    assert root.tag == f"{{{iso.ENVELOPE_NAMESPACE}}}Message"
    header, document = list(root)
    for part, part_type in ((header, "head.001.001.02"), (document, message_type)):
        assert_valid(etree.tostring(part), part_type)
    iso.validate(xml)
    iso.validate(xml, message_type)
    assert iso.detect_message_type(xml) == message_type
    assert iso.parse_envelope(xml) == envelope


@pytest.mark.parametrize("message_type", sorted(SAMPLES))
def test_json_form_round_trip(message_type: str) -> None:
    message = SAMPLES[message_type][0]()
    data = iso.to_json(message)
    assert data["message_type"] == message_type
    assert iso.from_json(json.loads(json.dumps(data, ensure_ascii=False))) == message


def test_app_header_alone() -> None:
    header = replace(header_for(pacs008()), possible_duplicate=True, business_service=None)
    xml = iso.build_app_header(header)
    assert_valid(xml, "head.001.001.02")
    assert iso.detect_message_type(xml) == MessageType.HEAD_001
    iso.validate(xml)
    assert iso.parse_app_header(xml) == header
    refused("iso20022_wrong_message_type", iso.parse_app_header, iso.build_pacs008(pacs008()))


def test_pacs008_xml_shape() -> None:
    xml = iso.build_pacs008(pacs008())
    root = etree.fromstring(xml)
    ns = {"d": MessageType.PACS_008.namespace}

    def texts(path: str) -> list[str]:
        return [element.text for element in root.findall(path, ns)]

    assert texts("d:FIToFICstmrCdtTrf/d:GrpHdr/d:NbOfTxs") == ["2"]
    assert texts("d:FIToFICstmrCdtTrf/d:GrpHdr/d:SttlmInf/d:SttlmMtd") == ["CLRG"]
    assert texts("d:FIToFICstmrCdtTrf/d:GrpHdr/d:TtlIntrBkSttlmAmt") == ["1250.99"]
    assert texts(".//d:CdtTrfTxInf/d:IntrBkSttlmAmt") == ["1250.00", "0.99"]
    assert {e.get("Ccy") for e in root.iterfind(".//d:IntrBkSttlmAmt", ns)} == {"PKR"}
    assert texts(".//d:CdtTrfTxInf/d:ChrgBr") == ["SLEV", "SLEV"]
    assert texts(".//d:CdtrAcct/d:Prxy/d:Tp/d:Prtry") == ["MSISDN", "MSISDN"]
    assert texts(".//d:CdtrAcct/d:Prxy/d:Id") == ["+923001234567"] * 2
    assert texts(".//d:DbtrAgt/d:FinInstnId/d:ClrSysMmbId/d:MmbId") == ["MEZN", "MEZN"]
    assert texts(".//d:PmtId/d:UETR")[0] == str(uuid.UUID(int=1, version=4))
    assert texts("d:FIToFICstmrCdtTrf/d:GrpHdr/d:CreDtTm") == ["2025-06-01T14:30:05.250000+05:00"]


def test_alias_only_account_travels_as_othr_and_prxy() -> None:
    message = replace(
        pacs008(),
        transactions=(replace(credit_transfer(), creditor_account=Account(proxy=ALIAS)),),
    )
    xml = iso.build_pacs008(message)
    assert b"<Othr><Id>+923001234567</Id><SchmeNm><Prtry>MSISDN</Prtry></SchmeNm></Othr>" in xml
    assert iso.parse_pacs008(xml) == message


# ---------------------------------------------------------------------------- hypothesis

_XML_UNSAFE = ("\ufffe", "\uffff")
names = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),  # Arabic script: Urdu
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters=_XML_UNSAFE),
    ),
    min_size=1,
    max_size=140,
).filter(str.strip)
identifiers = st.text(
    alphabet=string.ascii_letters + string.digits + "-/.:+ ", min_size=1, max_size=35
).filter(str.strip)
ibans = st.builds(
    make_pk_iban,
    st.sampled_from(["MEZN", "HABB", "UNIL", "SCBL", "MUCB"]),
    st.from_regex(r"[0-9]{1,16}", fullmatch=True),
)
aliases = st.integers(0, 10**7 - 1).map(lambda n: MobileNumber.parse(f"0300{n:07d}"))
accounts = st.one_of(
    st.builds(Account, iban=ibans),
    st.builds(Account, proxy=aliases),
    st.builds(Account, iban=ibans, proxy=aliases),
)
agents = st.one_of(
    st.builds(Agent, member_id=identifiers),
    st.builds(Agent, bic=st.from_regex(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", fullmatch=True)),
    st.builds(Agent, bic=st.just("MEZNPKKA"), member_id=identifiers, name=names),
)
uetrs = st.uuids(version=4)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive by design
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, PKT, timezone(timedelta(hours=-3, minutes=-30))]),
)
transactions = st.builds(
    CreditTransferTransaction,
    end_to_end_id=identifiers,
    transaction_id=identifiers,
    uetr=uetrs,
    amount=st.integers(1, 10**12).map(lambda minor: Money(minor, "PKR")),
    debtor=st.builds(Party, names),
    debtor_account=accounts,
    debtor_agent=agents,
    creditor=st.builds(Party, names),
    creditor_account=accounts,
    creditor_agent=agents,
    instruction_id=st.none() | identifiers,
    local_instrument=st.none() | identifiers,
    purpose=st.none() | st.from_regex(r"[A-Z]{4}", fullmatch=True),
    remittance_information=st.lists(names, max_size=3).map(tuple),
)
credit_transfers = st.builds(
    CustomerCreditTransfer,
    message_id=identifiers,
    created_at=moments,
    transactions=st.lists(transactions, min_size=1, max_size=12).map(tuple),
    settlement_date=st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    instructing_agent=st.none() | agents,
    instructed_agent=st.none() | agents,
)
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(credit_transfers)
def test_pacs008_property_round_trip(message: CustomerCreditTransfer) -> None:
    xml = iso.build_pacs008(message)
    assert_valid(xml, "pacs.008.001.08")
    assert iso.parse_pacs008(xml) == message
    assert iso.from_json(json.loads(json.dumps(iso.to_json(message)))) == message


statuses = st.builds(
    TransactionStatus,
    status=st.sampled_from([s for s in PaymentStatus if s is not PaymentStatus.RJCT]),
    original_end_to_end_id=identifiers,
    original_transaction_id=st.none() | identifiers,
    original_uetr=st.none() | uetrs,
    reasons=st.lists(
        st.builds(
            Reason,
            code=st.sampled_from(ReasonCode),
            additional_information=st.lists(names.map(lambda s: s[:105]), max_size=2).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
    acceptance_datetime=st.none() | moments,
)


@HYPOTHESIS
@given(
    message_id=identifiers,
    created_at=moments,
    items=st.lists(statuses, min_size=1, max_size=8),
)
def test_pacs002_property_round_trip(
    message_id: str, created_at: datetime, items: list[TransactionStatus]
) -> None:
    message = PaymentStatusReport(message_id, created_at, transactions=tuple(items))
    xml = iso.build_pacs002(message)
    assert_valid(xml, "pacs.002.001.10")
    assert iso.parse_pacs002(xml) == message
    assert iso.from_json(iso.to_json(message)) == message


# ---------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(125_000, "PKR"), "1250.00"),
        (Money(1, "PKR"), "0.01"),
        (Money(0, "PKR"), "0.00"),
        (Money(1250, "JPY"), "1250"),
        (Money(1250, "KWD"), "1.250"),
        (Money(10**18 - 1, "PKR"), "9999999999999999.99"),
    ],
)
def test_amount_text_is_exact(money: Money, text: str) -> None:
    assert iso.amount_to_text(money) == text
    assert iso.amount_from_text(text, money.currency) == money


@given(st.integers(0, 10**18 - 1), st.sampled_from(["PKR", "JPY", "KWD", "USD"]))
def test_amount_text_round_trip(amount_minor: int, currency: str) -> None:
    money = Money(amount_minor, currency)
    assert iso.amount_from_text(iso.amount_to_text(money), currency) == money


@pytest.mark.parametrize("text", ["1250", "1250.0", "1250.000", "+1250.00", " 1250.00 ", "01250."])
def test_amount_text_accepts_every_xsd_spelling(text: str) -> None:
    assert iso.amount_from_text(text, "PKR") == Money(125_000, "PKR")


@pytest.mark.parametrize("text", ["1250.001", "-1.00", "1e3", "abc", "", "NaN", "1,250.00"])
def test_amount_text_refuses_inexact_or_foreign_text(text: str) -> None:
    refused("iso20022_invalid_field", iso.amount_from_text, text, "PKR")


def test_amount_text_refuses_unknown_currency_and_too_many_digits() -> None:
    refused("iso20022_invalid_field", iso.amount_from_text, "1.00", "XYZ")
    refused("iso20022_invalid_field", iso.amount_to_text, Money(10**18, "PKR"))
    refused("iso20022_invalid_field", iso.amount_to_text, Money(-1, "PKR"))


def test_largest_amount_validates_against_the_xsd() -> None:
    big = replace(credit_transfer(), amount=Money(10**18 - 1, "PKR"))
    xml = iso.build_pacs008(replace(pacs008(), transactions=(big,)))
    assert_valid(xml, "pacs.008.001.08")
    refused(
        "iso20022_invalid_field",
        replace,
        pacs008(),
        transactions=(big, credit_transfer(2, 1)),  # the group total would have 19 digits
    )


# ---------------------------------------------------------------------------- field limits


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end_to_end_id": "E" * 36}, "end_to_end_id"),
        ({"end_to_end_id": "   "}, "end_to_end_id"),
        ({"transaction_id": "TX\n1"}, "transaction_id"),
        ({"instruction_id": "I\x00"}, "instruction_id"),
        ({"uetr": uuid.UUID(int=5, version=1)}, "uetr"),
        ({"amount": Money(0, "PKR")}, "amount"),
        ({"debtor": Party("x")} | {"purpose": "sala"}, "purpose"),
        ({"remittance_information": ("r" * 141,)}, "remittance_information"),
        ({"remittance_information": ("line",) * 11}, "remittance_information"),
    ],
)
def test_builder_limits(change: dict[str, Any], field: str) -> None:
    error = refused("iso20022_invalid_field", replace, credit_transfer(), **change)
    assert error.status == 422
    assert error.fields["field"] == field


def test_value_objects_refuse_what_the_xsd_would() -> None:
    refused("iso20022_invalid_field", Party, "n" * 141)
    refused("iso20022_invalid_field", Agent)
    refused("iso20022_invalid_field", Agent, "meznpkka")
    refused("iso20022_invalid_field", Account)
    refused("iso20022_invalid_field", Reason)
    refused("iso20022_invalid_field", Reason, ReasonCode.AC01, "X")
    refused("iso20022_invalid_field", OriginalGroupReference, "M", "pacs008")
    refused("iso20022_invalid_field", TransactionStatus, PaymentStatus.ACSC)
    refused(
        "iso20022_invalid_field",
        TransactionStatus,
        PaymentStatus.RJCT,
        "E2E-1",  # a rejection without a reason
    )
    naive = datetime(2025, 6, 1, 10, 0)  # noqa: DTZ001 - the point of the test
    refused("iso20022_invalid_field", replace, pacs008(), created_at=naive)
    odd_offset = NOW.replace(tzinfo=timezone(timedelta(seconds=30)))
    refused("iso20022_invalid_field", replace, pacs008(), created_at=odd_offset)
    refused("iso20022_invalid_field", replace, pacs008(), transactions=())
    usd = replace(credit_transfer(2), amount=Money(1, "USD"))
    refused("iso20022_invalid_field", replace, pacs008(), transactions=(credit_transfer(), usd))
    refused(
        "iso20022_invalid_field",
        replace,
        pacs004().transactions[0],
        returned_amount=Money(125_001, "PKR"),  # more than the original payment
    )


def test_customer_reports_have_no_interbank_fields() -> None:
    interbank = TransactionStatus(PaymentStatus.ACSC, "E2E-1", original_transaction_id="TX-1")
    refused(
        "iso20022_invalid_field",
        PaymentInstructionStatus,
        "PMT-1",
        PaymentStatus.ACSC,
        (),
        (interbank,),
    )


def test_header_must_name_the_document() -> None:
    header = replace(header_for(pacs008()), message_definition_id="pacs.002.001.10")
    error = refused("iso20022_header_mismatch", Envelope, header, pacs008())
    assert error.status == 422


# ---------------------------------------------------------------------------- bad input


def test_malformed_xml() -> None:
    for xml in (b"", b"<Document", b"not xml at all", b"<a><b></a>", b"\xff\xfe<junk>"):
        error = refused("iso20022_malformed_xml", iso.parse_pacs008, xml)
        assert error.status == 400
        assert error.fields["errors"]
    refused("iso20022_malformed_xml", iso.validate, "<Document/>")  # text, not bytes


def test_unknown_namespace_is_unsupported() -> None:
    for xml in (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02"/>',
        b"<Document/>",
        b'<Order xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/>',
    ):
        refused("iso20022_unsupported_message", iso.detect_message_type, xml)
        refused("iso20022_unsupported_message", iso.parse_document, xml)
        refused("iso20022_unsupported_message", iso.validate, xml)
    refused("iso20022_unsupported_message", iso.validate, iso.build_pacs008(pacs008()), "x.1")
    refused("iso20022_unsupported_message", iso.from_json, {"message_type": "pacs.009.001.08"})


def test_schema_only_messages_are_recognised_but_not_read() -> None:
    xml = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.056.001.08"><x/></Document>'
    assert iso.detect_message_type(xml) == MessageType.CAMT_056
    refused("iso20022_unsupported_message", iso.parse_document, xml)
    refused("iso20022_schema_invalid", iso.validate, xml)


def test_wrong_message_type() -> None:
    xml = iso.build_pacs008(pacs008())
    error = refused("iso20022_wrong_message_type", iso.parse_pacs002, xml)
    assert error.fields == {"expected": "pacs.002.001.10", "actual": "pacs.008.001.08"}
    envelope = iso.build_envelope(Envelope(header_for(pacs008()), pacs008()))
    refused("iso20022_wrong_message_type", iso.parse_pacs008, envelope)
    refused("iso20022_wrong_message_type", iso.parse_envelope, xml)
    # Checked against another message's XSD, a document is simply invalid.
    refused("iso20022_schema_invalid", iso.validate, xml, "pacs.002.001.10")


def test_missing_mandatory_element_is_schema_invalid() -> None:
    xml = iso.build_pacs008(pacs008())
    broken = xml_with(xml, "<EndToEndId>E2E-1</EndToEndId>", "")
    with pytest.raises(etree.DocumentInvalid):
        oracle("pacs.008.001.08").assertValid(etree.fromstring(broken))
    for call in (iso.parse_pacs008, iso.validate, iso.parse_document):
        error = refused("iso20022_schema_invalid", call, broken)
        assert error.status == 422
        assert error.fields["message_type"] == "pacs.008.001.08"
        first = error.fields["errors"][0]
        assert first["line"] >= 1
        assert "EndToEndId" in first["message"] or "TxId" in first["message"]


@pytest.mark.parametrize(
    ("old", "new", "hint"),
    [
        ('Ccy="PKR">1250.00', 'Ccy="pkr">1250.00', "Ccy"),  # currency must be 3 capitals
        ('Ccy="PKR">1250.00', 'Ccy="PKR">-1250.00', "IntrBkSttlmAmt"),  # minInclusive 0
        ('Ccy="PKR">1250.00', 'Ccy="PKR">1250.000001', "IntrBkSttlmAmt"),  # 5 decimals max
        ("<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>FREE</ChrgBr>", "ChrgBr"),
        ("<NbOfTxs>2</NbOfTxs>", "<NbOfTxs>two</NbOfTxs>", "NbOfTxs"),
        ("<MsgId>MSG-0001</MsgId>", "<MsgId>" + "M" * 36 + "</MsgId>", "MsgId"),
        ("<UETR>", "<UETR>X", "UETR"),
    ],
)
def test_schema_invalid_values(old: str, new: str, hint: str) -> None:
    broken = xml_with(iso.build_pacs008(pacs008()), old, new)
    error = refused("iso20022_schema_invalid", iso.parse_pacs008, broken)
    assert any(hint in entry["message"] for entry in error.fields["errors"]), error.fields


def test_schema_errors_are_capped() -> None:
    xml = iso.build_pacs008(pacs008()).replace(b"<ChrgBr>SLEV", b"<ChrgBr>NONE")
    xml = xml.replace(b'Ccy="PKR"', b'Ccy="p"')
    error = refused("iso20022_schema_invalid", iso.validate, xml)
    assert 1 < len(error.fields["errors"]) <= 5


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        # Valid for the XSD, refused by the hub: each error names the problem and its line.
        (IBAN_A.compact, IBAN_A.compact[:-1] + "0", "invalid_iban"),  # check digits off
        ('Ccy="PKR">0.99', 'Ccy="PKR">0.991', "amount_precision"),  # paisa are the minimum
        ('Ccy="PKR">0.99', 'Ccy="XYZ">0.99', None),  # not a currency we hold
        ("<NbOfTxs>2</NbOfTxs>", "<NbOfTxs>3</NbOfTxs>", None),
        ('Ccy="PKR">1250.99', 'Ccy="PKR">1250.98', None),  # total does not add up
        ("<Id>+923001234567</Id></Prxy>", "<Id>+4915112345678</Id></Prxy>", None),
        ("<Prtry>MSISDN</Prtry></Tp>", "<Prtry>EMAIL</Prtry></Tp>", None),
        ("<CreDtTm>2025-06-01T14:30:05.250000+05:00", "<CreDtTm>2025-06-01T24:00:00", None),
    ],
)
def test_values_the_hub_refuses(old: str, new: str, reason: str | None) -> None:
    broken = xml_with(iso.build_pacs008(pacs008()), old, new)
    assert_valid(broken, "pacs.008.001.08")
    error = refused("iso20022_invalid_field", iso.parse_pacs008, broken)
    assert error.status == 422
    assert error.fields["message_type"] == "pacs.008.001.08"
    assert error.fields.get("line", 0) >= 1
    if reason is not None:
        assert error.fields["reason"] == reason


def test_pacs008_requires_transaction_id_and_uetr() -> None:
    xml = iso.build_pacs008(pacs008())
    uetr = str(uuid.UUID(int=1, version=4))
    broken = xml_with(xml, f"<UETR>{uetr}</UETR>", "")
    assert_valid(broken, "pacs.008.001.08")
    refused("iso20022_invalid_field", iso.parse_pacs008, broken)


def test_unknown_status_and_reason_codes_are_refused() -> None:
    xml = iso.build_pacs002(pacs002())
    for old, new in (("<TxSts>ACSC", "<TxSts>ZZZZ"), ("<Cd>AC04", "<Cd>ZZ99")):
        broken = xml_with(xml, old, new)
        assert_valid(broken, "pacs.002.001.10")  # the XSD takes any 1-4 character code
        refused("iso20022_invalid_field", iso.parse_pacs002, broken)


def test_received_date_times() -> None:
    xml = iso.build_pacs008(pacs008())
    stamp = "<CreDtTm>2025-06-01T14:30:05.250000+05:00</CreDtTm>"
    # No offset: ISO calls it local time, and the hub's local time is Pakistan's.
    local = iso.parse_pacs008(xml_with(xml, stamp, "<CreDtTm>2025-06-01T09:30:05.25</CreDtTm>"))
    assert local.created_at == datetime(2025, 6, 1, 9, 30, 5, 250000, tzinfo=PKT)
    utc = iso.parse_pacs008(xml_with(xml, stamp, "<CreDtTm>2025-06-01T09:30:05.2500009Z</CreDtTm>"))
    assert utc.created_at == NOW
    assert utc.created_at.utcoffset() == timedelta(0)


def test_utc_is_written_as_z() -> None:
    message = replace(pacs008(), created_at=NOW.astimezone(UTC))
    xml = iso.build_pacs008(message)
    assert b"<CreDtTm>2025-06-01T09:30:05.250000Z</CreDtTm>" in xml
    assert iso.parse_pacs008(xml) == message


# ---------------------------------------------------------------------------- hostile input

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">&secret;</Document>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/>"""


def billion_laughs(levels: int = 10) -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, levels)
    ]
    return (
        f'<?xml version="1.0"?><!DOCTYPE Document [{"".join(entities)}]>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">'
        f"<MsgId>&lol{levels - 1};</MsgId></Document>"
    ).encode()


@pytest.mark.parametrize("xml", [XXE, EXTERNAL_DTD, PARAMETER_ENTITY, billion_laughs()])
def test_dtds_and_entities_are_refused_unexpanded(xml: bytes) -> None:
    for call in (iso.parse_pacs008, iso.validate, iso.detect_message_type, iso.parse_envelope):
        error = refused("iso20022_malformed_xml", call, xml)
        rendered = repr(error) + json.dumps(error.fields, default=str)
        assert "root:" not in rendered  # nothing of /etc/passwd leaked
        assert "lollollol" not in rendered  # nothing was expanded


def test_oversized_input_is_refused_before_parsing() -> None:
    padding = b" " * iso.MESSAGE_BYTES_MAX
    xml = iso.build_pacs008(pacs008()) + padding
    for call in (iso.parse_pacs008, iso.validate, iso.detect_message_type, iso.parse_envelope):
        error = refused("iso20022_too_large", call, xml)
        assert error.status == 413
        assert error.fields["size_max"] == iso.MESSAGE_BYTES_MAX


def test_oversized_output_is_refused() -> None:
    long_lines = ("x" * 140,) * 10
    payees = tuple(
        replace(pain001().payment_instructions[0].transactions[0], end_to_end_id=f"E-{index}")
        for index in range(800)
    )
    instruction = replace(
        pain001().payment_instructions[0],
        transactions=tuple(replace(payee, remittance_information=long_lines) for payee in payees),
    )
    message = replace(pain001(), payment_instructions=(instruction,))
    refused("iso20022_too_large", iso.build_pain001, message)


def test_too_many_transactions_are_refused_before_building() -> None:
    transactions = (credit_transfer(),) * (iso.TRANSACTIONS_PER_MESSAGE_MAX + 1)
    refused("iso20022_invalid_field", replace, pacs008(), transactions=transactions)


# ---------------------------------------------------------------------------- envelope shape


def test_envelope_shape_is_checked() -> None:
    envelope = iso.build_envelope(Envelope(header_for(pacs008()), pacs008()))
    text = envelope.decode()
    document_start = text.index("<Document")
    header_only = text[:document_start] + "</Message>"
    refused("iso20022_schema_invalid", iso.parse_envelope, header_only.encode())
    stray = text.replace("</AppHdr>", "</AppHdr>stray text", 1)
    refused("iso20022_schema_invalid", iso.validate, stray.encode())
    swapped_header = text.replace("<BizMsgIdr>MSG-0001</BizMsgIdr>", "", 1)
    error = refused("iso20022_schema_invalid", iso.parse_envelope, swapped_header.encode())
    assert error.fields["message_type"] == "head.001.001.02"
    mismatch = text.replace("<MsgDefIdr>pacs.008.001.08", "<MsgDefIdr>pacs.002.001.10", 1)
    refused("iso20022_header_mismatch", iso.parse_envelope, mismatch.encode())


# ---------------------------------------------------------------------------- JSON form


def test_json_form_shape() -> None:
    data = iso.to_json(pacs008())
    transaction = data["transactions"][0]
    assert transaction["amount"] == {"amount_minor": 125_000, "currency": "PKR"}
    assert transaction["creditor_account"] == {
        "iban": IBAN_B.compact,
        "proxy": "+923001234567",
        "hub_account": None,
    }
    assert transaction["uetr"] == str(uuid.UUID(int=1, version=4))
    assert data["created_at"] == "2025-06-01T14:30:05.250000+05:00"
    assert data["settlement_date"] == "2025-06-01"


def test_json_form_defaults_may_be_left_out() -> None:
    data = iso.to_json(pacs008())
    for key in ("settlement_method", "settlement_date", "instructing_agent", "instructed_agent"):
        del data[key]
    message = iso.from_json(data)
    assert isinstance(message, CustomerCreditTransfer)
    assert message.settlement_method.value == "CLRG"
    assert message.instructing_agent is None


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("transactions.0.amount", 1250.0, "iso20022_invalid_json"),
        (
            "transactions.0.amount",
            {"amount_minor": 1.5, "currency": "PKR"},
            "iso20022_invalid_json",
        ),
        (
            "transactions.0.amount",
            {"amount_minor": True, "currency": "PKR"},
            "iso20022_invalid_json",
        ),
        ("transactions.0.amount", {"amount_minor": 1, "currency": "XYZ"}, "iso20022_invalid_field"),
        ("transactions.0.colour", "red", "iso20022_invalid_json"),
        ("transactions.0.uetr", "not-a-uuid", "iso20022_invalid_json"),
        ("transactions.0.charge_bearer", "FREE", "iso20022_invalid_json"),
        (
            "transactions.0.debtor_account.iban",
            "PK00MEZN0000000000000000",
            "iso20022_invalid_field",
        ),
        ("transactions.0.end_to_end_id", "E" * 36, "iso20022_invalid_field"),
        ("transactions", {}, "iso20022_invalid_json"),
        ("created_at", "2025-06-01T10:00:00", "iso20022_invalid_field"),
        ("message_id", None, "iso20022_invalid_json"),
    ],
)
def test_json_form_refusals(path: str, value: object, code: str) -> None:
    data: Any = iso.to_json(pacs008())
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    error = refused(code, iso.from_json, data)
    assert error.status == 422
    assert error.fields["path"].startswith(path.split(".", maxsplit=1)[0])


def test_json_form_missing_field() -> None:
    data = iso.to_json(pacs008())
    del data["transactions"][0]["end_to_end_id"]
    error = refused("iso20022_invalid_json", iso.from_json, data)
    assert error.fields["path"] == "transactions[0].end_to_end_id"


# ---------------------------------------------------------------------------- concurrency


def test_concurrent_validation_keeps_errors_apart() -> None:
    good = iso.build_pacs008(pacs008())
    bad = xml_with(good, "<ChrgBr>SLEV", "<ChrgBr>FREE")

    def check(index: int) -> str:
        try:
            iso.parse_pacs008(bad if index % 2 else good)
        except DomainError as error:
            return f"{error.code}: {error.fields['errors'][0]['message']}"
        return "ok"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(check, range(200)))
    assert results[0::2] == ["ok"] * 100
    assert all(result.startswith("iso20022_schema_invalid:") for result in results[1::2])
    assert all("ChrgBr" in result for result in results[1::2])


def test_kernel_types_are_used_for_accounts() -> None:
    parsed = iso.parse_pacs008(iso.build_pacs008(pacs008()))
    account = parsed.transactions[0].creditor_account
    assert isinstance(account.iban, Iban)
    assert isinstance(account.proxy, MobileNumber)


def test_a_hub_settlement_account_round_trips_as_othr_id() -> None:
    account = iso.Account(hub_account="MEZNPKKA")
    statement = iso.BankToCustomerStatement(
        message_id="STMT1",
        created_at=datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
        statements=(
            iso.AccountStatement(
                statement_id="S1",
                account=account,
                balances=(
                    iso.Balance(iso.BalanceType.OPBD, Money(100, "PKR"), date(2026, 11, 24)),
                    iso.Balance(iso.BalanceType.CLBD, Money(-50, "PKR"), date(2026, 11, 24)),
                ),
            ),
        ),
    )
    xml = iso.build_camt053(statement)
    iso.validate(xml, "camt.053.001.08")
    assert b"HUBSTL" in xml
    assert iso.parse_camt053(xml) == statement
    with pytest.raises(DomainError):
        iso.Account(hub_account="X", iban=IBAN_B)


def test_text_refuses_exactly_control_surrogate_and_nonchararacter_code_points() -> None:
    refused = []
    for point in range(0x110000):
        character = chr(point)
        try:
            check_text(f"a{character}", "name", 140)
        except DomainError:
            refused.append(point)
    expected = [
        point
        for point in range(0x110000)
        if unicodedata.category(chr(point)) in ("Cc", "Cs") or point in (0xFFFE, 0xFFFF)
    ]
    assert refused == expected
