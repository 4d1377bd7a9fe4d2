"""docs/ledger.md lists the result codes in the engine's order of precedence."""

from __future__ import annotations

import re
from pathlib import Path

from tijarat.ledger.model import CreateAccountResult, CreateTransferResult

DOC = Path(__file__).parents[2] / "docs" / "ledger.md"


def _listed(heading: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("###", 1)[0].split("\n\nErrors", 1)[0]
    return re.findall(r"^\d+\. `([a-z_0-9]+)`", section, re.MULTILINE)


def test_transfer_results_are_documented_in_order() -> None:
    assert _listed("### Creating transfers") == [r.value for r in CreateTransferResult]


def test_account_results_are_documented_in_order() -> None:
    assert _listed("### Creating accounts") == [r.value for r in CreateAccountResult]
