"""The hub chapter of the Skardu story: three institutions on one Raast-style switch.

Karachi's Meezan and Habib banks and SadaPay, the Skardu business's wallet provider, join
the hub and prefund. The Skardu business pays a Karachi wool supplier by Raast ID and a dye
supplier by IBAN (ISO 20022 pacs.008 through the gateway, answered with pacs.002), a shop
pays the business by scanning its QR code, a buyer pays a request to pay, a payment to an
unknown number is rejected (AC03), a payee that never answers times out (AB05), and a
supplier refunds part of a payment (return). Everything posts through the ledger, which
verifies at the end.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock, from_ns
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money, format_money
from tijarat.switch import iso20022 as iso
from tijarat.switch import qr
from tijarat.switch.model import (
    Participant,
    ParticipantCategory,
    PayeeDecision,
    Payment,
    ReasonCode,
)

DIRECT = ParticipantCategory.DIRECT_SETTLEMENT
WALLET, WOOL_BANK, DYE_BANK = "SADAPAY", "MEZNPKKA", "HABBPKKA"


@dataclass
class HubReport:
    steps: list[tuple[str, str, bool]] = field(
        default_factory=list
    )  # (title, outcome, as expected)
    liquidity: dict[str, str] = field(default_factory=dict)
    archived_files: int = 0


def play(container: Container, clock: ManualClock, archive: Path | None) -> HubReport:
    report = HubReport()
    switch, payments, gateway = container.switch, container.payments, container.gateway
    secrets: dict[str, str] = {}
    suffix = uuid.uuid4().hex[:4].upper()  # a fresh hub per run, even on a reused database
    codes = {name: f"{name[:4]}{suffix}" for name in (WALLET, WOOL_BANK, DYE_BANK)}
    banks = {WALLET: "SADA", WOOL_BANK: "MEZN", DYE_BANK: "HABB"}
    names = {WALLET: "SadaPay", WOOL_BANK: "Meezan Bank", DYE_BANK: "Habib Bank"}
    if {p.bank_code for p in switch.participants()} & set(banks.values()):
        # Bank codes are unique on a hub: a second run on the same database invents its own.
        banks = {name: _letters() for name in banks}
    ibans = {
        "skardu": make_pk_iban(banks[WALLET], "1001").compact,
        "wool": make_pk_iban(banks[WOOL_BANK], "2002").compact,
        "dye": make_pk_iban(banks[DYE_BANK], "3003").compact,
        "shop": make_pk_iban(banks[DYE_BANK], "4004").compact,
    }
    for name, code in codes.items():
        participant, secret = switch.register_participant(
            code, names[name], DIRECT, bank_code=banks[name]
        )
        secrets[name] = secret
        switch.fund(participant.code, Money(5_000_000_00, "PKR"), uuid.uuid4())
    report.steps.append(
        ("Three institutions join the hub and prefund Rs 5,000,000 each", "ok", True)
    )
    numbers = {"skardu": f"0355{suffix_digits(suffix)}1", "wool": f"0300{suffix_digits(suffix)}2"}
    switch.link_alias(
        codes[WALLET], numbers["skardu"], ibans["skardu"], cnic(suffix, 1), "Skardu Crafts Pvt"
    )
    switch.link_alias(
        codes[WOOL_BANK], numbers["wool"], ibans["wool"], cnic(suffix, 2), "Karachi Wool House"
    )
    report.steps.append(("Raast IDs linked for the business and its wool supplier", "ok", True))
    accept = PayeeDecision(accept=True)
    payments.connect(codes[WOOL_BANK], lambda _p: accept)
    payments.connect(codes[WALLET], lambda _p: accept)
    # The dye supplier's bank (Habib) answers over its own API: no in-process handler.

    def pacs008(creditor: iso.Account, amount: int, note: str) -> iso.TransactionStatus:
        tx = iso.CreditTransferTransaction(
            end_to_end_id="E" + uuid.uuid4().hex[:20],
            transaction_id="T" + uuid.uuid4().hex[:20],
            uetr=uuid.uuid4(),
            amount=Money(amount, "PKR"),
            debtor=iso.Party(name="Skardu Crafts Pvt"),
            debtor_account=iso.Account(iban=Iban.parse(ibans["skardu"])),
            debtor_agent=iso.Agent(member_id=codes[WALLET]),
            creditor=iso.Party(name="Supplier"),
            creditor_account=creditor,
            creditor_agent=iso.Agent(member_id="RAASTHUB"),
            remittance_information=(note,),
        )
        document = iso.CustomerCreditTransfer(
            message_id="M" + uuid.uuid4().hex[:20],
            created_at=from_ns(clock.now_ns()),
            transactions=(tx,),
        )
        envelope = iso.Envelope.of(document, sender=codes[WALLET], receiver="RAASTHUB")
        answer = iso.parse_envelope(
            gateway.receive(switch.participant(codes[WALLET]), iso.build_envelope(envelope))
        )
        report_ = answer.document
        assert isinstance(report_, iso.PaymentStatusReport)
        return report_.transactions[0]

    wool = pacs008(
        iso.Account(proxy=MobileNumber.parse(numbers["wool"])), 1_250_000_00, "Wool, PO-1"
    )
    report.steps.append(
        (
            "Wool supplier paid Rs 1,250,000 by Raast ID (pacs.008 -> pacs.002)",
            wool.status.value,
            wool.status is iso.PaymentStatus.ACSC,
        )
    )
    pacs008(iso.Account(iban=Iban.parse(ibans["dye"])), 340_000_00, "Dyes, PO-2")
    # Habib has no endpoint: it reads the credit advice in its archive (its inbox) and
    # answers it with a pacs.002 of its own.
    habib = switch.participant(codes[DYE_BANK])
    (advice_entry,) = [
        entry
        for entry in gateway.archive(habib, after="0")
        if entry["message_type"] == iso.MessageType.PACS_008.value
    ]
    advice = iso.parse_envelope(gateway.message(habib, advice_entry["id"])).document
    assert isinstance(advice, iso.CustomerCreditTransfer)
    decision = iso.PaymentStatusReport(
        message_id="D" + uuid.uuid4().hex[:20],
        created_at=from_ns(clock.now_ns()),
        transactions=(
            iso.TransactionStatus(
                status=iso.PaymentStatus.ACSC,
                original_end_to_end_id=advice.transactions[0].end_to_end_id,
                original_uetr=advice.transactions[0].uetr,
            ),
        ),
    )
    envelope = iso.Envelope.of(decision, sender=habib.code, receiver="RAASTHUB")
    settled = iso.parse_envelope(gateway.receive(habib, iso.build_envelope(envelope))).document
    assert isinstance(settled, iso.PaymentStatusReport)
    report.steps.append(
        (
            "Dye supplier paid Rs 340,000 by IBAN; its bank answers from its inbox (pacs.002)",
            settled.transactions[0].status.value,
            settled.transactions[0].status is iso.PaymentStatus.ACSC,
        )
    )
    unknown = pacs008(iso.Account(proxy=MobileNumber.parse("03459999999")), 1_000_00, "typo")
    reason = unknown.reasons[0].code.value if unknown.reasons and unknown.reasons[0].code else ""
    report.steps.append(
        (
            "A payment to a number that is no Raast ID is rejected",
            f"{unknown.status.value} {reason}",
            reason == "AC03",
        )
    )

    shop_qr = qr.build(
        qr.MerchantQr(
            account=MobileNumber.parse(numbers["skardu"]),
            merchant_name="Skardu Crafts",
            merchant_city="Skardu",
            merchant_category_code="5971",
            point_of_initiation="dynamic",
            amount=Money(18_500_00, "PKR"),
            bill_number="RUG-0042",
            expiry=from_ns(clock.now_ns()) + timedelta(minutes=15),
            language=qr.LanguageTemplate(merchant_name="سکردو کرافٹس", merchant_city="سکردو"),
        )
    )
    by_qr = payments.pay_qr(
        codes[DYE_BANK],
        shop_qr,
        ids=("M" + uuid.uuid4().hex[:20], "E" + uuid.uuid4().hex[:20], "QR1", uuid.uuid4()),
        debtor_name="Clifton Rug Gallery",
        debtor_iban=ibans["shop"],
    )
    report.steps.append(
        (
            "A Karachi shop scans the business's QR and pays Rs 18,500",
            by_qr.status.value,
            by_qr.status.value == "ACSC",
        )
    )

    def exchange(document: iso.Message, sender: str) -> iso.Message:
        """A participant's ISO 20022 message to the hub, and the hub's answer."""
        envelope = iso.Envelope.of(document, sender=codes[sender], receiver="RAASTHUB")
        body = gateway.receive(switch.participant(codes[sender]), iso.build_envelope(envelope))
        return iso.parse_envelope(body).document

    asked = iso.RequestToPay(
        message_id="R" + uuid.uuid4().hex[:20],
        created_at=from_ns(clock.now_ns()),
        initiating_party=iso.Party(name="Karachi Wool House"),
        payment_instructions=(
            iso.RequestToPayInstruction(
                payment_information_id="FREIGHT-1",
                requested_execution=from_ns(clock.now_ns()).date(),
                expiry=from_ns(clock.now_ns()) + timedelta(hours=1),
                debtor=iso.Party(name="Skardu Crafts Pvt"),
                debtor_account=iso.Account(proxy=MobileNumber.parse(numbers["skardu"])),
                debtor_agent=iso.Agent(member_id="RAASTHUB"),
                transactions=(
                    iso.RequestToPayTransaction(
                        end_to_end_id="FREIGHT-" + suffix,
                        amount=Money(25_000_00, "PKR"),
                        creditor=iso.Party(name="Karachi Wool House"),
                        creditor_account=iso.Account(proxy=MobileNumber.parse(numbers["wool"])),
                        creditor_agent=iso.Agent(member_id=codes[WOOL_BANK]),
                        remittance_information=("Freight Skardu-Karachi",),
                    ),
                ),
            ),
        ),
    )
    exchange(asked, WOOL_BANK)  # pain.013 -> pain.014 PDNG: delivered to the business's bank
    accepted = iso.RequestToPayResponse(
        message_id="A" + uuid.uuid4().hex[:20],
        created_at=from_ns(clock.now_ns()),
        initiating_party=iso.Party(name="Skardu Crafts Pvt"),
        original_group=iso.OriginalGroupStatus(
            original_message_id=asked.message_id,
            original_message_name=iso.MessageType.PAIN_013.value,
        ),
        payment_instructions=(
            iso.PaymentInstructionStatus(
                original_payment_information_id="FREIGHT-1",
                transactions=(
                    iso.TransactionStatus(
                        status=iso.PaymentStatus.ACCP,
                        original_end_to_end_id="FREIGHT-" + suffix,
                    ),
                ),
            ),
        ),
    )
    paid = exchange(accepted, WALLET)  # pain.014 ACCP -> pacs.002 of the payment it made
    freight = paid.transactions[0] if isinstance(paid, iso.PaymentStatusReport) else None
    report.steps.append(
        (
            "Freight of Rs 25,000 requested (pain.013), accepted (pain.014) and paid",
            freight.status.value if freight else "-",
            freight is not None and freight.status is iso.PaymentStatus.ACSC,
        )
    )
    silent = pacs008(iso.Account(iban=Iban.parse(ibans["dye"])), 5_000_00, "unanswered")
    clock.advance(seconds=payments.payee_timeout_s + 1)
    payments.sweep_timeouts()
    timed_out = payments.status(codes[WALLET], silent.original_end_to_end_id or "")
    report.steps.append(
        (
            "A payment the payee never answers times out and the funds return",
            f"{timed_out.status.value} {timed_out.reason.value if timed_out.reason else ''}",
            timed_out.reason is ReasonCode.AB05,
        )
    )
    wool_payment: Payment = payments.status(codes[WALLET], wool.original_end_to_end_id or "")
    back = iso.PaymentReturn(
        message_id="B" + uuid.uuid4().hex[:20],
        created_at=from_ns(clock.now_ns()),
        transactions=(
            iso.ReturnTransaction(
                return_id="SHORT-" + suffix,
                original_end_to_end_id=wool_payment.request.end_to_end_id,
                original_transaction_id=wool_payment.request.tx_id,
                original_uetr=wool_payment.request.uetr,
                returned_amount=Money(50_000_00, "PKR"),
                reason=iso.Reason(code=iso.ReasonCode.MD06),
            ),
        ),
    )
    exchange(back, WOOL_BANK)  # pacs.004 in; the business's bank is told with a pacs.004
    refunded = payments.payment(wool_payment.id)
    report.steps.append(
        (
            "The wool supplier refunds Rs 50,000 for short delivery (pacs.004 return)",
            format_money(Money(refunded.returned_minor, "PKR")),
            refunded.returned_minor == 50_000_00,
        )
    )
    for name, code in codes.items():
        report.liquidity[f"{names[name]} ({code})"] = format_money(switch.liquidity(code))
    if archive is not None:
        report.archived_files = _write_archive(
            container, [switch.participant(c) for c in codes.values()], archive, shop_qr
        )
    return report


def _write_archive(
    container: Container, participants: list[Participant], folder: Path, payload: str
) -> int:
    """Every archived message as its Document and, beside it, its AppHdr; the QR as PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for participant in participants:
        for index, entry in enumerate(reversed(container.gateway.archive(participant, 500))):
            envelope = iso.parse_envelope(container.gateway.message(participant, entry["id"]))
            stem = f"{participant.code}-{index:03d}-{entry['direction']}-{entry['message_type']}"
            (folder / f"{stem}.xml").write_bytes(iso.build_document(envelope.document))
            (folder / f"{stem}.head.xml").write_bytes(iso.build_app_header(envelope.header))
            written += 2
    (folder / "skardu-crafts-qr.png").write_bytes(qr.render_png(payload))
    (folder / "skardu-crafts-qr.svg").write_text(qr.render_svg(payload), encoding="utf-8")
    return written + 2


def suffix_digits(suffix: str) -> str:
    return f"{int(suffix, 16) % 1_000_000:06d}"


def cnic(suffix: str, n: int) -> str:
    return f"{(int(suffix, 16) % 90_000) + 10_000:05d}{n:07d}{n % 10}"


def _letters() -> str:
    return "".join(chr(ord("A") + byte % 26) for byte in uuid.uuid4().bytes[:4])
