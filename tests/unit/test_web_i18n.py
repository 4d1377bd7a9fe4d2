"""The dashboard's languages: complete Urdu catalogs, negotiation, Babel formatting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import tijarat.web
from tijarat.web.business import REQUEST_DAYS_MAX
from tijarat.web.errors import WebError
from tijarat.web.i18n import (
    LANGUAGES,
    Formats,
    catalog_path,
    language_from_accept,
    load_translations,
)
from tijarat.web.messages import ERRORS

WEB = Path(tijarat.web.__file__).parent
# What marks text for translation: gettext's usual names in templates, N_ for text shown
# later, and Site.translate(language, text) in Python (the text is its second argument).
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "translate": (2,)}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


def _extracted() -> set[str]:
    with (WEB / "locale" / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return _extracted()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_the_dashboard_shows_is_in_the_catalog(
    language: str, extracted: set[str]
) -> None:
    with catalog_path(language).open("rb") as source:
        catalog = read_po(source, locale=language)
    listed = {message.id for message in catalog if message.id}
    assert extracted - listed == set(), "run the catalog update (docs/dashboard.md)"
    assert listed - extracted == set(), "the catalog keeps text no page shows any more"
    assert not [message.id for message in catalog if message.id and message.fuzzy]


def test_urdu_translates_everything_and_keeps_the_placeholders(extracted: set[str]) -> None:
    with catalog_path("ur").open("rb") as source:
        catalog = read_po(source, locale="ur")
    for message in catalog:
        if not message.id:
            continue
        assert message.string, f"no Urdu for {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)
        ), message.id
        assert re.search("[\u0600-\u06ff]", message.string) or message.string == message.id, (
            f"{message.id!r} is not written in Urdu"
        )
    urdu = load_translations("ur")
    assert urdu.gettext("Sign in") == "سائن ان"
    assert urdu.gettext("text no catalog has") == "text no catalog has"
    assert len(extracted) > 100


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, None),
        ("", None),
        ("ur-PK,ur;q=0.9,en;q=0.8", "ur"),
        ("en-GB,en;q=0.9,ur;q=0.8", "en"),
        ("fr-FR,ur;q=0.5", "ur"),
        ("ur;q=0.2,en;q=0.7", "en"),
        ("ur;q=0", None),
        ("ur;q=nonsense,en", "en"),
        ("de,fr", None),
    ],
)
def test_accept_language_picks_the_preferred_of_ours(
    header: str | None, language: str | None
) -> None:
    assert language_from_accept(header) == language


def test_numbers_money_and_times_are_formatted_for_pakistan() -> None:
    english, urdu = Formats("en"), Formats("ur")
    assert english.money(125_050) == "Rs1,250.50"
    assert english.money(-5, "USD") == "-US$0.05"
    assert urdu.money(125_050) == "Rs1,250.50"
    assert english.number(1_234_567) == "1,234,567"
    noon_utc = 1_767_268_800 * 10**9  # 2026-01-01 12:00 UTC is 17:00 in Pakistan
    assert english.moment(noon_utc) == "1 Jan 2026, 17:00"
    assert urdu.moment(noon_utc) == "1 جنوری 2026, 17:00"
    assert english.compact_money(123_456_700) == "Rs1.2M"
    assert "لاکھ" in urdu.compact_money(123_456_700)  # 12.3 lakh
    late_utc = 1_767_295_800 * 10**9  # 2026-01-01 19:30 UTC is already 2 January in Pakistan
    assert english.short_date(late_utc) == "2 Jan"


def test_error_sentences_name_the_limits_the_code_enforces() -> None:
    assert f"from 1 to {REQUEST_DAYS_MAX}." in ERRORS[WebError.DAYS_INVALID]
