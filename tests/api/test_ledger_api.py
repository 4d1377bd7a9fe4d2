"""The ledger over HTTP: problem+json for every refusal, results per event, nothing lost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.settings import DEVELOPMENT_OPERATOR_TOKEN

AUTH = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}"}


@pytest.fixture
def client(sqlite_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_container)) as test_client:
        yield test_client


def _setup(client: TestClient) -> tuple[str, str]:
    assert (
        client.post(
            "/v1/ledger/ledgers", json={"id": 1, "currency": "PKR", "name": "Rupee"}, headers=AUTH
        ).status_code
        == 201
    )
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    response = client.post(
        "/v1/ledger/accounts",
        json={
            "accounts": [
                {"id": a, "ledger": 1, "code": 1},
                {"id": b, "ledger": 1, "code": 1, "flags": ["debits_must_not_exceed_credits"]},
            ]
        },
        headers=AUTH,
    )
    assert response.json() == {
        "ok": True,
        "results": [
            {"index": 0, "id": a, "result": "ok"},
            {"index": 1, "id": b, "result": "ok"},
        ],
    }
    return a, b


def _problem(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"https://tijarat.dev/problems/{code}"
    return body


def test_health_ready_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").status_code == 200
    assert "tijarat_http_request_seconds" in client.get("/metrics").text
    assert client.get("/openapi.json").json()["info"]["title"] == "Tijarat"


def test_transfer_statement_and_idempotent_retry(client: TestClient) -> None:
    a, b = _setup(client)
    transfer = {"id": str(uuid.uuid4()), "debit_account_id": a, "credit_account_id": b}
    transfer |= {"amount": 125_000, "ledger": 1, "code": 7}
    first = client.post("/v1/ledger/transfers", json={"transfers": [transfer]}, headers=AUTH)
    again = client.post("/v1/ledger/transfers", json={"transfers": [transfer]}, headers=AUTH)
    assert first.json()["results"][0]["result"] == "ok"
    assert again.json() == {
        "ok": True,
        "results": [{"index": 0, "id": transfer["id"], "result": "exists"}],
    }
    account = client.get(f"/v1/ledger/accounts/{b}", headers=AUTH).json()
    assert account["balance"]["credits_posted"] == 125_000  # moved once
    statement = client.get(f"/v1/ledger/accounts/{b}/statement", headers=AUTH).json()
    assert statement["currency"] == "PKR"
    assert [e["direction"] for e in statement["entries"]] == ["credit"]
    assert statement["closing"]["credits_posted"] == 125_000
    record = client.get(f"/v1/ledger/transfers/{transfer['id']}", headers=AUTH).json()
    assert record["credit_balance_after"]["credits_posted"] == 125_000
    assert client.post("/v1/ledger/verify", headers=AUTH).json()["ok"] is True


def test_a_refused_transfer_says_why_and_moves_nothing(client: TestClient) -> None:
    a, b = _setup(client)
    overdraft = {"id": str(uuid.uuid4()), "debit_account_id": b, "credit_account_id": a}
    overdraft |= {"amount": 1, "ledger": 1, "code": 1}
    zero = {"id": str(uuid.uuid4()), "debit_account_id": a, "credit_account_id": b}
    zero |= {"amount": 0, "ledger": 1, "code": 1}
    body = client.post(
        "/v1/ledger/transfers", json={"transfers": [overdraft, zero]}, headers=AUTH
    ).json()
    assert body["ok"] is False
    assert [r["result"] for r in body["results"]] == [
        "exceeds_credits",
        "amount_must_not_be_zero",
    ]
    assert client.get(f"/v1/ledger/accounts/{b}", headers=AUTH).json()["balance"] == {
        "debits_pending": 0,
        "debits_posted": 0,
        "credits_pending": 0,
        "credits_posted": 0,
    }


def test_bad_requests_are_problem_json(client: TestClient) -> None:
    a, _ = _setup(client)
    _problem(client.post("/v1/ledger/transfers", json={"transfers": []}), 401, "unauthenticated")
    _problem(
        client.post(
            "/v1/ledger/transfers",
            json={"transfers": []},
            headers={"Authorization": "Bearer forged"},
        ),
        401,
        "unauthenticated",
    )
    body = _problem(
        client.post(
            "/v1/ledger/transfers",
            json={"transfers": [{"id": "not-a-uuid", "amount": 5}]},
            headers=AUTH,
        ),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["location"][-1] == "id"  # type: ignore[index]
    _problem(
        client.post("/v1/ledger/transfers", json={"transfers": []}, headers=AUTH),
        422,
        "validation_failed",
    )
    _problem(
        client.post(
            "/v1/ledger/transfers",
            json={"transfers": [{"id": str(uuid.uuid4()), "flags": ["teleport"]}]},
            headers=AUTH,
        ),
        422,
        "validation_failed",
    )
    _problem(
        client.get(f"/v1/ledger/accounts/{uuid.uuid4()}", headers=AUTH),
        404,
        "ledger_account_not_found",
    )
    _problem(client.get("/v1/ledger/accounts/123", headers=AUTH), 422, "validation_failed")
    oversized = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    _problem(
        client.post(
            "/v1/ledger/transfers",
            content=oversized,
            headers=AUTH | {"content-type": "application/json"},
        ),
        413,
        "request_too_large",
    )
    _problem(
        client.post(
            "/v1/ledger/transfers",
            content=b'{"transfers": [',
            headers=AUTH | {"content-type": "application/json"},
        ),
        422,
        "validation_failed",
    )
    _problem(client.get("/v1/nowhere"), 404, "not_found")
    # Nothing above moved money.
    assert (
        client.get(f"/v1/ledger/accounts/{a}", headers=AUTH).json()["balance"]["debits_posted"] == 0
    )


def test_pending_post_and_close_over_http(client: TestClient) -> None:
    a, b = _setup(client)
    pending = {"id": str(uuid.uuid4()), "debit_account_id": a, "credit_account_id": b}
    pending |= {"amount": 900, "ledger": 1, "code": 1, "flags": ["pending"], "timeout": 60}
    assert client.post("/v1/ledger/transfers", json={"transfers": [pending]}, headers=AUTH).json()[
        "ok"
    ]
    record = client.get(f"/v1/ledger/transfers/{pending['id']}", headers=AUTH).json()
    assert record["pending_status"] == "pending"
    assert record["transfer"]["flags"] == ["pending"]
    post = {"id": str(uuid.uuid4()), "pending_id": pending["id"], "amount": 400}
    post |= {"flags": ["post_pending_transfer"]}
    assert client.post("/v1/ledger/transfers", json={"transfers": [post]}, headers=AUTH).json()[
        "ok"
    ]
    balance = client.get(f"/v1/ledger/accounts/{b}", headers=AUTH).json()["balance"]
    assert (balance["credits_pending"], balance["credits_posted"]) == (0, 400)
    closed = client.post(f"/v1/ledger/accounts/{a}/close", headers=AUTH).json()
    assert closed["flags"] == ["closed"]
    late = {"id": str(uuid.uuid4()), "debit_account_id": a, "credit_account_id": b}
    late |= {"amount": 1, "ledger": 1, "code": 1}
    result = client.post("/v1/ledger/transfers", json={"transfers": [late]}, headers=AUTH).json()
    assert result["results"][0]["result"] == "debit_account_already_closed"


def test_every_answer_carries_its_request_id_and_is_measured(client: TestClient) -> None:
    given = client.get("/healthz", headers={"x-request-id": "trace-42"})
    assert given.headers["x-request-id"] == "trace-42"
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32
    client.get("/v1/ledger/accounts/not-a-uuid", headers=AUTH)
    metrics = client.get("/metrics").text
    assert 'route="/healthz",status="200"' in metrics
    assert 'status="422"' in metrics


def test_metrics_say_how_ledger_batches_knew_their_balances(client: TestClient) -> None:
    def committed(path: str) -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith(f'tijarat_ledger_batches_total{{path="{path}"}}'):
                return float(line.split()[-1])
        return 0.0

    warm, cold = committed("warm"), committed("cold")
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    accounts = [{"id": i, "ledger": 1, "code": 1} for i in (a, b)]
    client.post(
        "/v1/ledger/ledgers", json={"id": 1, "currency": "PKR", "name": "rupee"}, headers=AUTH
    )
    client.post("/v1/ledger/accounts", json={"accounts": accounts}, headers=AUTH)
    for _ in range(3):
        transfer = {"id": str(uuid.uuid4()), "debit_account_id": a, "credit_account_id": b}
        transfer |= {"amount": 5, "ledger": 1, "code": 1}
        answer = client.post("/v1/ledger/transfers", json={"transfers": [transfer]}, headers=AUTH)
        assert answer.json()["results"][0]["result"] == "ok"
    # Creating the accounts ran cold; the transfers after it found the memory it left.
    assert committed("cold") > cold
    assert committed("warm") >= warm + 3
