"""English and Urdu: message catalogs, text direction, and numbers, money and dates by Babel.

The catalogs are the .po files under locale/ (Babel's format; translators edit them). They are
compiled in memory when the dashboard starts, so no build step has to run first.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_currency, format_decimal
from babel.support import Translations

from tijarat.kernel.clock import PAKISTAN, from_ns
from tijarat.kernel.money import Money, format_money

LOCALE_DIRECTORY = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "ur")
DEFAULT_LANGUAGE = "en"
# CLDR locales for formatting: Pakistani English and Pakistani Urdu.
BABEL_LOCALES = {"en": "en_PK", "ur": "ur_PK"}
DIRECTIONS = {"en": "ltr", "ur": "rtl"}
ACCEPT_LANGUAGE_LENGTH_MAX = 200


def catalog_path(language: str) -> Path:
    return LOCALE_DIRECTORY / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(language: str) -> Translations:
    """Read the language's .po catalog and compile it in memory (fuzzy entries left out)."""
    with catalog_path(language).open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def language_from_accept(header: str | None) -> str | None:
    """The first of our languages in an Accept-Language header, by quality; None if none."""
    if not header:
        return None
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:ACCEPT_LANGUAGE_LENGTH_MAX].split(",")):
        tag, _, parameters = part.strip().partition(";")
        language = tag.strip().split("-")[0].lower()
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if language in LANGUAGES and quality > 0:
            weighted.append((-quality, position, language))
    return min(weighted)[2] if weighted else None


@dataclass(frozen=True, slots=True)
class Formats:
    """Display of numbers, money and moments in one language (Pakistan time, UTC+5)."""

    language: str

    @property
    def locale(self) -> str:
        return BABEL_LOCALES[self.language]

    def money(self, amount_minor: int, currency: str = "PKR") -> str:
        return format_money(Money(amount_minor, currency), self.locale)

    def compact_money(self, amount_minor: int, currency: str = "PKR") -> str:
        """Short amounts for chart axes: "Rs1.2M" in English, "Rs 12.3 لاکھ" in Urdu."""
        major = Money(amount_minor, currency).to_decimal()
        text: str = format_compact_currency(major, currency, locale=self.locale, fraction_digits=1)
        return text

    def number(self, value: int | Decimal) -> str:
        text: str = format_decimal(value, locale=self.locale)
        return text

    def moment(self, timestamp_ns: int) -> str:
        text: str = format_datetime(
            from_ns(timestamp_ns), "d MMM y, HH:mm", tzinfo=PAKISTAN, locale=self.locale
        )
        return text

    def short_moment(self, timestamp_ns: int) -> str:
        """Day, month and time: for lists, where the year goes without saying."""
        text: str = format_datetime(
            from_ns(timestamp_ns), "d MMM, HH:mm", tzinfo=PAKISTAN, locale=self.locale
        )
        return text

    def short_date(self, timestamp_ns: int) -> str:
        """Day and month in Pakistan: for due dates, where the time of day means nothing."""
        text: str = format_datetime(
            from_ns(timestamp_ns), "d MMM", tzinfo=PAKISTAN, locale=self.locale
        )
        return text

    def day(self, moment: datetime) -> str:
        text: str = format_date(moment, "d MMM", locale=self.locale)
        return text
