"""`tijarat wallet ...` as a person types it: onboard, fund, pay, QR, limits, tiers, payout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tijarat.cli.main import app

runner = CliRunner(env={"COLUMNS": "220"})  # Rich tables at full width


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIJARAT_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    return tmp_path


def run(*args: str) -> str:
    done = runner.invoke(app, list(args))
    assert done.exit_code == 0, (args, done.output, done.exception)
    return done.output


def test_the_wallet_at_the_command_line(database: Path) -> None:
    run(
        "wallet", "onboard", "--name", "Skardu Crafts", "--mobile", "03551234567",
        "--ntn", "1234567-8", "--address", "Skardu", "--owner", "Karim Baig",
        "--owner-cnic", "71501-1234567-1",
    )  # fmt: skip
    run("wallet", "onboard", "--name", "Ali Khan", "--mobile", "03001234567",
        "--cnic", "35202-1234567-1")  # fmt: skip
    assert "completed" in run("wallet", "deposit", "03001234567", "20000")
    # The business's QR, decoded by a real decoder, then paid by Ali.
    output = run("wallet", "qr", "03551234567", "--output", "shop.png", "--amount", "1500")
    payload = output.strip().splitlines()[-1].strip()
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", str(database / "shop.png")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert decoded == payload
    assert "completed" in run("wallet", "pay-qr", "03001234567", payload)
    # Limits: Ali lowers his own daily limit, then a payment above it is refused.
    run("wallet", "set-limit", "03001234567", "debit_day", "2000")
    assert "debit_day" in run("wallet", "limits", "03001234567")
    refused = runner.invoke(app, ["wallet", "pay", "03001234567", "03551234567", "2500"])
    assert refused.exit_code != 0  # `main()` prints "code: message"; here the error itself
    assert getattr(refused.exception, "code", None) == "wallet_limit_exceeded"
    # A tier upgrade after (simulated) biometric verification.
    upgraded = run(
        "wallet", "upgrade", "03001234567", "--tier", "level1",
        "--cnic", "35202-1234567-1", "--score", "88",
    )  # fmt: skip
    assert "level1" in upgraded
    # The business asks Ali to pay; a bulk payout file; a statement as PDF.
    assert "sent" in run("wallet", "request", "03551234567", "03001234567", "300")
    (database / "payout.csv").write_text(
        "name,raast_id,iban,amount,reference\nAli Khan,03001234567,,100.00,P-1\n"
    )
    assert "settled" in run("wallet", "payout", "03551234567", "payout.csv")
    run("wallet", "statement", "03551234567", "--output", "statement.pdf")
    assert (database / "statement.pdf").read_bytes().startswith(b"%PDF")
    assert "Skardu Crafts" in run("wallet", "customers")
