"""Audit fixes without a database: one-word names masked, the body limit however the body
arrives, and the directory's limits as settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from asgi_support import drive
from tijarat.api.app import Edges
from tijarat.kernel.identifiers import mask_name
from tijarat.settings import Settings
from tijarat.switch.model import CLAIM_RESOLUTION_S_DEFAULT, LOOKUPS_PER_MINUTE_DEFAULT

LIMIT = 1024


# ---------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Ayesha", "AYE***"),
        ("ayesha", "AYE***"),
        ("  Zainab  ", "ZAI***"),
        ("Asif", "AS***"),
        ("Ali", "AL***"),
        ("Al", "A***"),
        ("A", "***"),
        # Names of several words keep their rule: the last word is shown.
        ("Muhammad Asif Khan", "MUH*** AS*** KHAN"),
        ("Ali Raza", "AL*** RAZA"),
    ],
)
def test_a_one_word_name_is_never_shown_whole(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=20))
def test_every_one_word_name_is_masked(word: str) -> None:
    shown = mask_name(word)
    assert shown.endswith("***")
    kept = shown.removesuffix("***")
    assert word.upper().startswith(kept)
    assert len(kept) < len(word)


# ---------------------------------------------------------------------------- body limit
def _drive(
    app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, dict[str, Any], int]:
    """Run one request through `app` behind Edges, the body in `chunks` (no Content-Length
    unless given): the status, the JSON body and how many chunks were read."""
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/switch/payments",
        "headers": headers or [(b"transfer-encoding", b"chunked")],
    }
    status, body, read = drive(Edges(app, limit=lambda: LIMIT), scope, chunks)
    return status, json.loads(body) if body else {}, read


async def _reads_all(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that reads the whole body, then answers 422 (as an invalid payment would)."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 422, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps({"size": size}).encode()})


async def _swallows(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that catches whatever reading the body raises and answers 400 instead."""
    try:
        while (await receive()).get("more_body", False):
            pass
    except Exception:  # what FastAPI does with any error while it reads a body
        pass
    await send({"type": "http.response.start", "status": 400, "headers": []})
    await send({"type": "http.response.body", "body": b'{"code": "bad"}'})


def test_a_chunked_body_over_the_limit_is_refused_without_reading_the_rest() -> None:
    chunks = [b"x" * 256] * 40  # 10 KiB, no Content-Length
    status, problem, read = _drive(_reads_all, chunks)
    assert (status, problem["code"]) == (413, "request_too_large")
    assert problem["status"] == 413
    assert read == LIMIT // 256 + 1  # stopped at the chunk that passed the limit


def test_the_refusal_stands_even_when_the_app_swallows_it() -> None:
    status, problem, read = _drive(_swallows, [b"x" * 600] * 10)
    assert (status, problem["code"]) == (413, "request_too_large")
    assert read == 2


def test_bodies_within_the_limit_pass_and_a_declared_length_is_still_checked() -> None:
    status, answer, read = _drive(_reads_all, [b"x" * 512, b"x" * 512])
    assert (status, answer, read) == (422, {"size": LIMIT}, 2)
    declared = [(b"content-length", str(LIMIT + 1).encode())]
    status, problem, read = _drive(_reads_all, [b"x" * (LIMIT + 1)], declared)
    assert (status, problem["code"], read) == (413, "request_too_large", 0)


# ---------------------------------------------------------------------------- settings
def test_the_directory_limits_are_settings_with_unchanged_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = Settings(environment="test")
    assert defaults.claim_resolution_s == CLAIM_RESOLUTION_S_DEFAULT == 7 * 86_400
    assert defaults.alias_lookups_per_minute == LOOKUPS_PER_MINUTE_DEFAULT == 600
    monkeypatch.setenv("TIJARAT_CLAIM_RESOLUTION_S", "3600")
    monkeypatch.setenv("TIJARAT_ALIAS_LOOKUPS_PER_MINUTE", "30")
    configured = Settings(environment="test")
    assert (configured.claim_resolution_s, configured.alias_lookups_per_minute) == (3600, 30)
    with pytest.raises(ValueError, match="claim_resolution_s"):
        Settings(environment="test", claim_resolution_s=0)
    with pytest.raises(ValueError, match="alias_lookups_per_minute"):
        Settings(environment="test", alias_lookups_per_minute=0)
