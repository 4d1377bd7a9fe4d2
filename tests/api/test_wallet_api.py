"""The wallet over HTTP: onboard, fund, pay by alias, IBAN and QR, bulk payout, statements."""

from __future__ import annotations

import io
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.kernel.clock import from_ns
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.settings import DEVELOPMENT_OPERATOR_TOKEN
from tijarat.switch import iso20022
from tijarat.switch.model import ParticipantCategory, PayeeDecision

OPERATOR = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}"}


def key() -> dict[str, str]:
    return {**OPERATOR, "Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture
def client(sqlite_container: Container) -> Iterator[TestClient]:
    container = sqlite_container
    container.switch.register_participant(
        "MEZNPKKA", "Meezan Bank", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="MEZN"
    )
    container.switch.fund("MEZNPKKA", Money(1_000_000_00, "PKR"), uuid.uuid4())
    container.payments.connect("MEZNPKKA", lambda _payment: PayeeDecision(accept=True))
    container.wallet.fund_settlement(1_000_000_00, uuid.uuid4())
    with TestClient(create_app(container)) as test_client:
        yield test_client


def onboard_business(client: TestClient) -> dict[str, object]:
    response = client.post(
        "/v1/wallet/customers",
        json={
            "kind": "business",
            "name": "Skardu Apricot Traders",
            "ntn": "1234567-8",
            "mobile": "0355 1234567",
            "address": "Main Bazaar, Skardu",
            "owners": ["Karim Baig"],
            "owner_cnic": "71501-1234567-1",
        },
        headers=OPERATOR,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def onboard_individual(client: TestClient, mobile: str, cnic: str) -> dict[str, object]:
    response = client.post(
        "/v1/wallet/customers",
        json={"kind": "individual", "name": "Ayesha Siddiqui", "cnic": cnic, "mobile": mobile},
        headers=OPERATOR,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_the_wallet_story_over_http(client: TestClient, sqlite_container: Container) -> None:
    business = onboard_business(client)
    business_id = business["id"]
    assert business["accounts"][0]["iban"].startswith("PK")  # type: ignore[index]
    person = onboard_individual(client, "03001234567", "35202-7654321-1")

    deposit = client.post(
        f"/v1/wallet/customers/{business_id}/deposits",
        json={"amount_minor": 500_000_00},
        headers=key(),
    )
    assert deposit.status_code == 201, deposit.text
    assert deposit.json()["status"] == "completed"

    # By Raast ID to a customer of the same institution: instant, inside the book.
    by_alias = client.post(
        f"/v1/wallet/customers/{business_id}/payments",
        json={"to": "+923001234567", "amount_minor": 1_500_00, "note": "apricot sorting"},
        headers=key(),
    )
    assert by_alias.status_code == 201, by_alias.text
    assert by_alias.json()["status"] == "completed"
    # By IBAN to a Karachi supplier at another bank: through the hub, settled (ACSC).
    supplier_iban = make_pk_iban("MEZN", "4455").compact
    by_iban = client.post(
        f"/v1/wallet/customers/{business_id}/payments",
        json={"to": supplier_iban, "amount_minor": 25_000_00, "payee_name": "Karachi Packaging"},
        headers=key(),
    )
    assert by_iban.status_code == 201, by_iban.text
    assert by_iban.json()["status"] == "completed"
    assert by_iban.json()["payment_id"] is not None

    # The person pays the business's dynamic QR; the merchant fee lands in fee income.
    client.post(
        f"/v1/wallet/customers/{person['id']}/deposits",
        json={"amount_minor": 5_000_00},
        headers=key(),
    )
    payload = client.get(
        f"/v1/wallet/customers/{business_id}/qr",
        params={"amount_minor": 2_000_00, "image": "text"},
        headers=OPERATOR,
    ).text
    by_qr = client.post(
        f"/v1/wallet/customers/{person['id']}/qr-payments",
        json={"payload": payload},
        headers=key(),
    )
    assert by_qr.status_code == 201, by_qr.text
    fee = [m for m in by_qr.json()["movements"] if m["kind"] == "fee"]
    assert fee[0]["amount_minor"] == 10_00  # 0.5% of Rs 2,000

    # A bulk payout: one good row at another bank, one bad IBAN; the re-upload pays nothing.
    csv_file = (
        "name,raast_id,iban,amount,reference\n"
        f"Lahore Dry Fruits,,{make_pk_iban('MEZN', '77').compact},1200.50,INV-1\n"
        "Nobody,,PK00BAD,10.00,INV-2\n"
    ).encode()
    first = client.post(
        f"/v1/wallet/customers/{business_id}/payouts", content=csv_file, headers=OPERATOR
    )
    assert first.status_code == 201, first.text
    assert (first.json()["settled"], first.json()["rejected"]) == (1, 1)
    again = client.post(
        f"/v1/wallet/customers/{business_id}/payouts", content=csv_file, headers=OPERATOR
    )
    assert again.json()["id"] == first.json()["id"]
    pain002 = client.get(
        f"/v1/wallet/customers/{business_id}/payouts/{first.json()['id']}/report",
        params={"report": "pain.002"},
        headers=OPERATOR,
    )
    iso20022.validate(pain002.content, "pain.002.001.10")

    # Balance: 500,000 - 1,500 - 25,000 + 2,000 - 10 (fee) - 1,200.50
    expected = 500_000_00 - 1_500_00 - 25_000_00 + 2_000_00 - 10_00 - 1_200_50
    shown = client.get(f"/v1/wallet/customers/{business_id}", headers=OPERATOR).json()
    assert shown["accounts"][0]["available_minor"] == expected

    now = from_ns(sqlite_container.clock.now_ns())
    window = {
        "since": (now - timedelta(days=1)).isoformat(),
        "until": (now + timedelta(days=1)).isoformat(),
    }
    statement = client.get(
        f"/v1/wallet/customers/{business_id}/statement", params=window, headers=OPERATOR
    ).json()
    assert statement["opening_minor"] == 0
    assert statement["closing_minor"] == expected
    running = statement["opening_minor"]
    for line in statement["lines"]:
        running += line["amount_minor"] if line["direction"] == "credit" else -line["amount_minor"]
        assert line["balance_after_minor"] == running
    assert running == expected

    camt = client.get(
        f"/v1/wallet/customers/{business_id}/statement",
        params={**window, "output": "camt.053"},
        headers=OPERATOR,
    )
    iso20022.validate(camt.content, "camt.053.001.08")
    pdf = client.get(
        f"/v1/wallet/customers/{business_id}/statement",
        params={**window, "output": "pdf"},
        headers=OPERATOR,
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Skardu Apricot Traders" in text
    assert "Karachi Packaging" in text
    csv_statement = client.get(
        f"/v1/wallet/customers/{business_id}/statement",
        params={**window, "output": "csv"},
        headers=OPERATOR,
    ).text
    assert csv_statement.count("\n") == len(statement["lines"]) + 3

    history = client.get(
        f"/v1/wallet/customers/{business_id}/movements",
        params={"search": "karachi"},
        headers=OPERATOR,
    ).json()
    assert [m["kind"] for m in history] == ["raast_out"]
    assert history[0]["counterparty"].startswith("Karachi Packaging")
    assert sqlite_container.ledger.verify().ok
    reconciled = client.get("/v1/wallet/reconciliation", headers=OPERATOR).json()
    assert reconciled["difference_minor"] == 0


def test_the_qr_image_decodes_to_the_payload(client: TestClient) -> None:
    business = onboard_business(client)
    url = f"/v1/wallet/customers/{business['id']}/qr"
    payload = client.get(url, params={"image": "text"}, headers=OPERATOR).text
    png = client.get(url, headers=OPERATOR)
    assert png.headers["content-type"] == "image/png"
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", "-"], input=png.content, capture_output=True, check=True
    ).stdout.decode()
    assert decoded.strip() == payload


def test_a_retried_payment_moves_money_once(client: TestClient) -> None:
    business = onboard_business(client)
    url = f"/v1/wallet/customers/{business['id']}"
    headers = key()
    client.post(f"{url}/deposits", json={"amount_minor": 10_000_00}, headers=key())
    body = {"to": make_pk_iban("MEZN", "9").compact, "amount_minor": 1_000_00, "payee_name": "X Y"}
    first = client.post(f"{url}/payments", json=body, headers=headers)
    second = client.post(f"{url}/payments", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["replayed"] is True
    assert second.json()["group_id"] == first.json()["group_id"]
    shown = client.get(url, headers=OPERATOR).json()
    assert shown["accounts"][0]["available_minor"] == 9_000_00
    other = client.post(f"{url}/payments", json={**body, "amount_minor": 5_00}, headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "wallet_request_key_reused"


def test_bad_input_is_refused_and_changes_nothing(client: TestClient) -> None:
    business = onboard_business(client)
    url = f"/v1/wallet/customers/{business['id']}"
    client.post(f"{url}/deposits", json={"amount_minor": 10_000_00}, headers=key())
    cases = [
        ({"to": "+923001112223", "amount_minor": 10.5}, key(), 422, None),  # a float
        ({"to": "+923001112223", "amount_minor": 100}, OPERATOR, 422, None),  # no key
        ({"to": "PK00XXXX0000", "amount_minor": 100}, key(), 422, "invalid_iban"),
        ({"to": "+923009999999", "amount_minor": 100}, key(), 404, "switch_alias_not_found"),
        (
            {"to": make_pk_iban("MEZN", "1").compact, "amount_minor": 50_000_00, "payee_name": "A"},
            key(),
            409,
            "wallet_insufficient_funds",
        ),
    ]
    for body, headers, status, code in cases:
        response = client.post(f"{url}/payments", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if code:
            assert response.json()["code"] == code
    unknown = client.get(f"/v1/wallet/customers/{uuid.uuid4()}", headers=OPERATOR)
    assert unknown.json()["code"] == "wallet_customer_not_found"
    assert client.get(url, headers={}).status_code == 401
    shown = client.get(url, headers=OPERATOR).json()
    assert shown["accounts"][0]["available_minor"] == 10_000_00


def test_a_limit_breach_says_which_limit_and_what_remains(client: TestClient) -> None:
    person = onboard_individual(client, "03451234567", "42101-1234567-1")
    url = f"/v1/wallet/customers/{person['id']}"
    assert client.post(
        f"{url}/deposits", json={"amount_minor": 20_000_00}, headers=key()
    ).is_success
    over = client.post(f"{url}/deposits", json={"amount_minor": 5_000_01}, headers=key())
    assert over.status_code == 422
    problem = over.json()
    assert problem["code"] == "wallet_limit_exceeded"
    assert problem["fields"]["limit"] == "credit_day"
    assert problem["fields"]["remaining_minor"] == 5_000_00
    at_limit = client.post(f"{url}/deposits", json={"amount_minor": 5_000_00}, headers=key())
    assert at_limit.status_code == 201
    lowered = client.put(
        f"{url}/limits/debit_transaction", json={"amount_minor": 1_000_00}, headers=OPERATOR
    )
    assert lowered.status_code == 200
    raised = client.put(
        f"{url}/limits/debit_transaction", json={"amount_minor": 30_000_00}, headers=OPERATOR
    )
    assert raised.json()["code"] == "wallet_limit_invalid"


def test_fx_rates_and_conversion(client: TestClient) -> None:
    business = onboard_business(client)
    today = datetime.now(UTC).date()
    imported = client.post(
        "/v1/wallet/fx-rates",
        params={"source": "SBP M2M"},
        content=f"date,base,quote,rate\n2024-01-01,USD,PKR,280.10\n{today},USD,PKR,278.4532\n",
        headers=OPERATOR,
    )
    assert imported.json() == {"imported": 2}
    bad = client.post(
        "/v1/wallet/fx-rates",
        content="date,base,quote,rate\nyesterday,USD,PKR,1\n",
        headers=OPERATOR,
    )
    assert bad.json()["code"] == "wallet_fx_rates_invalid"
    assert bad.json()["fields"]["line"] == 2
    wallet = client.app.state.container.wallet  # type: ignore[attr-defined]
    wallet.receive_foreign(uuid.UUID(business["id"]), 1_000_00, "USD", "r1", remitter="Buyer")
    converted = client.post(
        f"/v1/wallet/customers/{business['id']}/conversions",
        json={"amount_minor": 333_33, "from_currency": "USD", "to_currency": "PKR"},
        headers=key(),
    )
    assert converted.status_code == 201, converted.text
    body = converted.json()
    assert body["rate"] in ("280.10", "278.4532")


def test_a_payee_on_the_sanctions_list_is_held_for_review(
    client: TestClient, sqlite_container: Container
) -> None:
    sample = (Path(__file__).parents[2] / "data" / "sanctions-sample.csv").read_text()
    sqlite_container.screening.import_list("sample", sample)
    business = onboard_business(client)
    url = f"/v1/wallet/customers/{business['id']}"
    client.post(f"{url}/deposits", json={"amount_minor": 10_000_00}, headers=key())
    body = {
        "to": make_pk_iban("MEZN", "31").compact,
        "amount_minor": 1_000_00,
        "payee_name": "Muhammad Kasim Zarbakht",
    }
    held = client.post(f"{url}/payments", json=body, headers=key())
    assert held.status_code == 422
    assert held.json()["code"] == "wallet_screening_hit"
    reviews = client.get("/v1/compliance/reviews", headers=OPERATOR).json()
    assert reviews
    assert client.get(url, headers=OPERATOR).json()["accounts"][0]["available_minor"] == 10_000_00
    # An ordinary supplier passes.
    fine = client.post(
        f"{url}/payments", json={**body, "payee_name": "Karachi Wool House"}, headers=key()
    )
    assert fine.status_code == 201, fine.text


def test_a_business_requests_payment_and_the_customer_pays_it(client: TestClient) -> None:
    business = onboard_business(client)
    person = onboard_individual(client, "03121234567", "42201-7654321-3")
    client.post(
        f"/v1/wallet/customers/{person['id']}/deposits",
        json={"amount_minor": 9_000_00},
        headers=key(),
    )
    sent = client.post(
        f"/v1/wallet/customers/{business['id']}/payment-requests",
        json={"debtor": "0312 1234567", "amount_minor": 4_250_00, "reference": "INV-77"},
        headers=OPERATOR,
    )
    assert sent.status_code == 201, sent.text
    inbox = client.get(f"/v1/wallet/customers/{person['id']}/requests", headers=OPERATOR).json()
    assert [(r["amount_minor"], r["reference"]) for r in inbox] == [(4_250_00, "INV-77")]
    paid = client.post(
        f"/v1/wallet/customers/{person['id']}/requests/{inbox[0]['id']}/pay", headers=key()
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "completed"
    listed = client.get(
        f"/v1/wallet/customers/{business['id']}/payment-requests", headers=OPERATOR
    ).json()
    assert [r["status"] for r in listed] == ["paid"]
    shown = client.get(f"/v1/wallet/customers/{business['id']}", headers=OPERATOR).json()
    assert shown["accounts"][0]["available_minor"] == 4_250_00
    # Asking oneself, or a number that is no Raast ID, is refused.
    self_ask = client.post(
        f"/v1/wallet/customers/{business['id']}/payment-requests",
        json={"debtor": "0355 1234567", "amount_minor": 1},
        headers=OPERATOR,
    )
    assert self_ask.json()["code"] == "wallet_same_account"
    unknown = client.post(
        f"/v1/wallet/customers/{business['id']}/payment-requests",
        json={"debtor": "0300 0000001", "amount_minor": 1},
        headers=OPERATOR,
    )
    assert unknown.json()["code"] == "switch_alias_not_found"


def test_a_retried_request_to_pay_is_sent_once(
    client: TestClient, sqlite_container: Container
) -> None:
    business = onboard_business(client)
    bank_customer = make_pk_iban("MEZN", "5150").compact
    sqlite_container.switch.link_alias(
        "MEZNPKKA", "03211234567", bank_customer, "42101-5555555-5", "Hamid Ali"
    )
    url = f"/v1/wallet/customers/{business['id']}/payment-requests"
    body = {"debtor": "03211234567", "amount_minor": 7_000_00, "reference": "INV-9"}
    headers = {**OPERATOR, "Idempotency-Key": "rtp-1"}
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(client.get(url, headers=OPERATOR).json()) == 1
    other = client.post(url, json={**body, "amount_minor": 1}, headers=headers)
    assert other.json()["code"] == "wallet_request_key_reused"
