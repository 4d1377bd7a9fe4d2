"""Sanctions screening: operator-imported lists, fuzzy name matching and a review queue.

The operator imports lists (our CSV layout or the UN Security Council consolidated list XML);
each import of a source is a new version and only the newest version of each source is
matched. A name is normalised (see `name_tokens`) and compared with every name and alias
on the active lists by rapidfuzz's `token_sort_ratio` (see `similarity`): order-insensitive,
and it penalises missing or extra name parts, so "Ali Khan" does not match "Muhammad Ali
Khan" the way `WRatio` or `token_set_ratio` would; a part-by-part cap keeps a different
middle name from passing (tests/unit/test_wallet_screening_names.py holds the evidence).

Scores of `review_threshold` and above open a review, `block_threshold` and above block.
An analyst's release (false positive) or confirmation (true match) is remembered for the
same normalised name and the same list entry, across list versions while the entry's
content stays the same.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import json
import math
import re
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from lxml import etree as _lxml_etree  # type: ignore[import-untyped]
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from tijarat.kernel.clock import Clock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.ids import new_id
from tijarat.wallet.screening_store import (
    entries_table,
    lists_table,
    review_events_table,
    reviews_table,
)

REVIEW_THRESHOLD_DEFAULT = 85
BLOCK_THRESHOLD_DEFAULT = 95
SOURCE_LENGTH_MAX = 64
ENTRY_REF_LENGTH_MAX = 64
NAME_LENGTH_MAX = 400
PROGRAMME_LENGTH_MAX = 200
COUNTRY_LENGTH_MAX = 100
ALIASES_PER_ENTRY_MAX = 200
LIST_ENTRIES_MAX = 100_000
LIST_TEXT_CHARACTERS_MAX = 64 * 1024 * 1024
SUBJECT_LENGTH_MAX = 32
REFERENCE_LENGTH_MAX = 140
ACTOR_LENGTH_MAX = 100
NOTE_LENGTH_MAX = 1_000
MATCHES_PER_NAME_MAX = 10
SCREEN_MANY_NAMES_MAX = 10_000
REVIEWS_PAGE_DEFAULT = 100
REVIEWS_PAGE_MAX = 500
INSERT_BATCH_SIZE = 1_000
QUERY_IN_BATCH_SIZE = 500
WRITE_ATTEMPTS_MAX = 3
SYSTEM_ACTOR = "screening"

_T = TypeVar("_T")
# lxml is untyped: one Any-typed name, used only in this module.
_etree: Any = _lxml_etree
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SUBJECT = re.compile(r"^[a-z][a-z0-9_]*$")


class ScreeningError(StrEnum):
    SOURCE_INVALID = "screening_source_invalid"
    FORMAT_UNSUPPORTED = "screening_format_unsupported"
    LIST_INVALID = "screening_list_invalid"
    LIST_IMPORT_CONFLICT = "screening_list_import_conflict"
    NAME_INVALID = "screening_name_invalid"
    REQUEST_INVALID = "screening_request_invalid"
    TOO_MANY_NAMES = "screening_too_many_names"
    REVIEW_NOT_FOUND = "screening_review_not_found"
    REVIEW_RESOLVED = "screening_review_already_resolved"
    DECISION_INVALID = "screening_decision_invalid"


class ListFormat(StrEnum):
    CSV = "csv"  # id,name,aliases,type,programme[,country]; aliases separated by ";"
    UN_XML = "un-xml"  # the UN Security Council consolidated list (CONSOLIDATED_LIST)


class EntryType(StrEnum):
    INDIVIDUAL = "individual"
    ENTITY = "entity"


class Outcome(StrEnum):
    CLEAR = "clear"
    REVIEW = "review"
    BLOCK = "block"


class ReviewStatus(StrEnum):
    OPEN = "open"
    RELEASED = "released"  # a false positive: the same name and entry screen clear later
    CONFIRMED = "confirmed"  # a true match: the same name and entry are blocked later


class Decision(StrEnum):
    RELEASE = "release"
    CONFIRM = "confirm"


_OUTCOME_RANK = {Outcome.CLEAR: 0, Outcome.REVIEW: 1, Outcome.BLOCK: 2}


# ---------------------------------------------------------------------- name normalisation
# Courtesy, professional and religious titles: they say nothing about who a person is, and
# lists and payment files use them inconsistently. Lineage and clan names that Pakistani
# names carry as real parts (Syed, Shaikh, Mian, Chaudhry, Malik, Khan, Mirza) and titles
# that are also given names (Hafiz, Sufi) are kept: dropping them would merge different
# people. Titles are dropped only when something else is left ("Haji" alone stays).
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TITLES = _words(
    "mr mrs ms miss mister dr prof professor sir madam engr janab mohtarma sahib sahab "
    "haji hajji alhaj alhajj maulana maulvi molvi mufti qari allama"
)
# Legal forms of entities: "Al-Noor Trading Co. (Pvt) Ltd" is "Al Noor Trading Company".
LEGAL_FORMS = _words("pvt private ltd limited llc inc co company corp corporation plc smc")
# The Arabic article and its Urdu forms, written apart or hyphenated ("Zia-ul-Haq",
# "Abd al-Rahman"): dropped, since the same name is also written joined ("Ziaul Haq").
PARTICLES = _words("al el ul ud ur us")
# Common transliterations of Pakistani and Arabic names, each to one spelling.
_VARIANT_GROUPS = {
    "muhammad": "mohammad mohammed muhammed mohamed mohamad muhamad muhamed mohammod mohd muhd",
    "ahmad": "ahmed",
    "hussain": "husain hussein husein hossain hosain hussian husayn",
    "hasan": "hassan",
    "rahman": "rehman rahmaan rehmaan",
    "yusuf": "yousaf yousuf yousef yusef youssef yousif",
    "mahmud": "mahmood mehmood mehmud mahmoud",
    "masud": "masood masoud",
    "syed": "sayed sayyid sayyed saiyid seyed syyed",
    "shaikh": "sheikh shaykh sheik shekh",
    "chaudhry": "chaudhary choudhry chaudhri chowdhury choudhary chaudri chaudhari",
    "qureshi": "quraishi qureshy kureshi",
    "usman": "osman uthman othman",
    "usama": "osama usamah osamah",
    "abdullah": "abdulla abdallah",
    "abdul": "abd abdel abdal abdur abdus abdar",
    "farooq": "farouk faruq farooque faruk farouq",
    "qasim": "kasim qaseem qassim kassim",
    "ibrahim": "ebrahim ibraheem",
    "ismail": "ismael esmail",
    "tariq": "tarik tareq",
    "rashid": "rasheed",
    "hamid": "hameed",
    "majid": "majeed",
    "saeed": "sayeed saeid",
    "javed": "javaid jawed javid",
    "iqbal": "ikbal",
    "mustafa": "mustapha mostafa",
    "zafar": "zaffar zafer",
}
VARIANTS = {
    variant: canonical
    for canonical, variants in _VARIANT_GROUPS.items()
    for variant in variants.split()
}
_APOSTROPHES = str.maketrans("", "", "'\u2018\u2019\u02bb\u02bc`\u00b4")
# "Ali Khan s/o Ahmed Khan": the parentage that Pakistani documents add is not the name.
_PARENTAGE = re.compile(
    r"\b[sdw]\s*/\s*o\b.*$|\b(?:son|daughter|wife)\s+of\b.*$", re.IGNORECASE | re.DOTALL
)


def name_tokens(name: str) -> list[str]:
    """The parts of a name that identify someone, in a canonical spelling, in input order.

    Compatibility forms folded (NFKC), parentage cut ("s/o ..."), diacritics dropped
    ("Ḥusayn" -> "husayn"), case folded, apostrophes removed ("Mas'ud" -> "masud"), any other
    punctuation splits words, standalone articles dropped, transliteration variants mapped
    ("Mohammed" -> "muhammad"), titles and legal forms dropped. Letters of any script stay,
    so a name in Urdu script matches the same name in Urdu script on a list.
    """
    text = _PARENTAGE.sub("", unicodedata.normalize("NFKC", name))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = "".join(c if c.isalnum() else " " for c in text.translate(_APOSTROPHES))
    words = text.split()
    if len(words) > 1:
        words = [word for word in words if word not in PARTICLES] or words
    words = [VARIANTS.get(word, word) for word in words]
    kept = [word for word in words if word not in TITLES and word not in LEGAL_FORMS]
    return kept or words


def normalise_name(name: str) -> str:
    """The form names are compared in: `name_tokens` sorted, so order does not matter."""
    return " ".join(sorted(name_tokens(name)))


def similarity(normalised: str, other: str) -> float:
    """0-100, one decimal: how alike two normalised (token-sorted) names are.

    The whole-name score is rapidfuzz's `fuzz.ratio` of the sorted tokens, which is exactly
    `fuzz.token_sort_ratio`, computed without sorting again. It is capped by how well the
    name parts pair up (`part_alignment`): otherwise two long shared parts carry a
    different third one over the threshold ("Zainab Ahmed Abbasi" and "Zainab Bakhqa
    Abbasi" score 87 as whole names, 79 part by part; "Imran Khan" and "Irfan Khan" 90 and
    78). The cap never raises a score, so the whole-name score alone decides which list
    names are worth comparing part by part.
    """
    whole = fuzz.ratio(normalised, other)
    if whole == 0:
        return 0.0
    return round(min(whole, part_alignment(normalised.split(), other.split())), 1)


def part_alignment(tokens: Sequence[str], other: Sequence[str]) -> float:
    """0-100: each name part scored against its best counterpart in the other name, weighted
    by its length, averaged over both directions. Parts are compared by optimal string
    alignment (Levenshtein with transpositions): "Imarn" is one slip from "Imran", while
    "Irfan" is two letters away from it, a different name."""

    def one_way(parts: Sequence[str], against: Sequence[str]) -> float:
        weighted = sum(
            len(part) * max(OSA.normalized_similarity(part, o) for o in against) for part in parts
        )
        return 100 * weighted / sum(len(part) for part in parts)

    if not tokens or not other:
        return 0.0
    return (one_way(tokens, other) + one_way(other, tokens)) / 2


# ---------------------------------------------------------------------- plain data
@dataclass(frozen=True, slots=True)
class ListEntry:
    """One entry of an imported list, as the file gives it."""

    entry_ref: str
    name: str
    aliases: tuple[str, ...]
    entry_type: EntryType
    programme: str
    country: str | None

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the content: a remembered decision holds while this stays the same."""
        content = [self.name, sorted(self.aliases), self.entry_type, self.programme]
        content.append(self.country or "")
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SanctionList:
    id: uuid.UUID
    source: str
    version: int
    format: ListFormat
    entry_count: int
    active: bool
    imported_at: int
    imported_by: str


@dataclass(frozen=True, slots=True)
class ScreeningMatch:
    entry_id: uuid.UUID
    list_id: uuid.UUID
    source: str
    list_version: int
    entry_ref: str
    entry_name: str
    entry_type: EntryType
    programme: str
    country: str | None
    matched_name: str  # the list's name or alias that scored best
    score: float
    outcome: Outcome
    review_id: uuid.UUID | None
    # "released" or "confirmed" when an analyst's earlier decision set the outcome
    decision: ReviewStatus | None


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    name: str
    normalised_name: str
    subject: str
    reference: str
    outcome: Outcome
    # Scores at or over the review threshold, worst outcome first; a match an analyst
    # released is listed as clear, with its decision.
    matches: tuple[ScreeningMatch, ...]
    list_ids: tuple[uuid.UUID, ...]  # the list versions screened against
    screened_at: int

    @property
    def review_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(m.review_id for m in self.matches if m.review_id is not None)


@dataclass(frozen=True, slots=True)
class Review:
    id: uuid.UUID
    status: ReviewStatus
    outcome: Outcome
    score: float
    name: str
    normalised_name: str
    subject: str
    reference: str  # the first screen that opened it; later ones are in the events
    list_id: uuid.UUID
    source: str
    list_version: int
    entry_id: uuid.UUID
    entry_ref: str
    entry_name: str
    matched_name: str
    hits: int
    created_at: int
    last_hit_at: int
    resolved_at: int | None
    resolved_by: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    seq: int
    review_id: uuid.UUID
    action: str  # opened | hit | released | confirmed
    actor: str
    at: int
    subject: str
    reference: str
    note: str


# ---------------------------------------------------------------------- list parsing
def _list_error(line: int, message: str, **fields: Any) -> DomainError:
    return DomainError(
        ScreeningError.LIST_INVALID,
        f"line {line}: {message}",
        status=422,
        fields={"line": line, **fields},
    )


def _name_field(line: int, column: str, value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise _list_error(line, f"{column} is empty", column=column)
    if len(value) > NAME_LENGTH_MAX:
        raise _list_error(line, f"{column} is longer than {NAME_LENGTH_MAX}", column=column)
    if not name_tokens(value):
        raise _list_error(line, f"{column} has no letters or digits", column=column)
    return value


CSV_COLUMNS_REQUIRED = ("id", "name", "aliases", "type", "programme")
CSV_COLUMNS_OPTIONAL = ("country",)


def parse_csv(text: str) -> list[ListEntry]:
    """Our list layout: a header naming the columns, then one entry per row. Strict.

    Lines starting with "#" before the header are comments (say where the list came from,
    or that it is test data); blank lines are skipped. Errors name the line.
    """
    reader = csv.reader(io.StringIO(_blank_leading_comments(text), newline=""), strict=True)
    header: list[str] | None = None
    entries: list[ListEntry] = []
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not row:
                continue  # blank line
            if header is None:
                header = _csv_header(line, row)
                continue
            if len(row) != len(header):
                raise _list_error(line, f"expected {len(header)} fields, found {len(row)}")
            entry = _csv_entry(line, dict(zip(header, row, strict=True)))
            if entry.entry_ref in seen:
                raise _list_error(
                    line,
                    f"id {entry.entry_ref!r} already on line {seen[entry.entry_ref]}",
                    column="id",
                )
            seen[entry.entry_ref] = line
            entries.append(entry)
            if len(entries) > LIST_ENTRIES_MAX:
                raise _list_error(line, f"a list holds at most {LIST_ENTRIES_MAX} entries")
    except csv.Error as error:
        raise _list_error(reader.line_num, f"not valid CSV ({error})") from None
    if header is None:
        raise _list_error(1, "the file is empty; it needs a header and entries")
    if not entries:
        raise _list_error(reader.line_num, "no entries after the header")
    return entries


def _blank_leading_comments(text: str) -> str:
    """Comment lines before the header become blank lines, so line numbers stay true."""
    lines = text.removeprefix("\ufeff").split("\n")
    for number, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            lines[number] = ""
        elif line.strip():
            break
    return "\n".join(lines)


def _csv_header(line: int, row: list[str]) -> list[str]:
    header = [column.strip().lower() for column in row]
    known = CSV_COLUMNS_REQUIRED + CSV_COLUMNS_OPTIONAL
    for column in header:
        if column not in known:
            raise _list_error(
                line, f"unknown column {column!r}; columns are {', '.join(known)}", column=column
            )
        if header.count(column) > 1:
            raise _list_error(line, f"column {column!r} appears twice", column=column)
    missing = [column for column in CSV_COLUMNS_REQUIRED if column not in header]
    if missing:
        raise _list_error(line, f"missing column(s) {', '.join(missing)}", columns=missing)
    return header


def _csv_entry(line: int, fields: dict[str, str]) -> ListEntry:
    entry_ref = fields["id"].strip()
    if not entry_ref or len(entry_ref) > ENTRY_REF_LENGTH_MAX:
        raise _list_error(line, f"id must be 1 to {ENTRY_REF_LENGTH_MAX} characters", column="id")
    name = _name_field(line, "name", fields["name"])
    aliases = [part for part in fields["aliases"].split(";") if part.strip()]
    if len(aliases) > ALIASES_PER_ENTRY_MAX:
        raise _list_error(line, f"at most {ALIASES_PER_ENTRY_MAX} aliases", column="aliases")
    kind = fields["type"].strip().lower()
    if kind not in EntryType.__members__.values():
        raise _list_error(line, "type must be individual or entity", column="type")
    programme = " ".join(fields["programme"].split())
    if not programme or len(programme) > PROGRAMME_LENGTH_MAX:
        raise _list_error(
            line, f"programme must be 1 to {PROGRAMME_LENGTH_MAX} characters", column="programme"
        )
    country = " ".join(fields.get("country", "").split()) or None
    if country is not None and len(country) > COUNTRY_LENGTH_MAX:
        raise _list_error(line, f"country is longer than {COUNTRY_LENGTH_MAX}", column="country")
    return ListEntry(
        entry_ref=entry_ref,
        name=name,
        aliases=tuple(_name_field(line, "aliases", alias) for alias in aliases),
        entry_type=EntryType(kind),
        programme=programme,
        country=country,
    )


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def parse_un_xml(text: str) -> list[ListEntry]:
    """The UN Security Council consolidated list (scsanctions.un.org, CONSOLIDATED_LIST).

    Individuals: FIRST_NAME .. FOURTH_NAME joined, aliases from INDIVIDUAL_ALIAS and the
    name in original script, country from the first NATIONALITY. Entities: FIRST_NAME,
    ENTITY_ALIAS, the first ENTITY_ADDRESS country. The entry id is the REFERENCE_NUMBER
    (e.g. "QDi.001"), else DATAID. Aliases the UN marks QUALITY "Low" are not screened:
    the UN itself calls them insufficient to identify anyone, and they are mostly single
    common names that would hold up every payment to an "Ali" or an "Abu Bakr".
    """
    # The text is already decoded: an encoding declaration would contradict it.
    parser = _etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        # Newlines stand in for the declaration, so error lines stay those of the file.
        undeclared = _XML_DECLARATION.sub(
            lambda found: "\n" * found.group().count("\n"), text.removeprefix("\ufeff"), count=1
        )
        root = _etree.fromstring(undeclared, parser)
    except _etree.XMLSyntaxError as error:
        raise _list_error(error.lineno or 1, f"not well-formed XML ({error.msg})") from None
    except ValueError as error:  # lxml refuses some text it cannot take as a document
        raise _list_error(1, f"not usable as XML ({error})") from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise _list_error(1, "a DOCTYPE is not accepted in a list")
    if root.tag != "CONSOLIDATED_LIST":
        raise _list_error(
            root.sourceline or 1, f"root element {root.tag!r} is not CONSOLIDATED_LIST"
        )
    entries: list[ListEntry] = []
    seen: dict[str, int] = {}
    kinds = (
        ("INDIVIDUALS/INDIVIDUAL", EntryType.INDIVIDUAL),
        ("ENTITIES/ENTITY", EntryType.ENTITY),
    )
    for path, kind in kinds:
        for element in root.iterfind(path):
            line = element.sourceline or 1
            entry = _un_entry(line, element, kind)
            if entry.entry_ref in seen:
                raise _list_error(
                    line, f"reference {entry.entry_ref!r} already on line {seen[entry.entry_ref]}"
                )
            seen[entry.entry_ref] = line
            entries.append(entry)
            if len(entries) > LIST_ENTRIES_MAX:
                raise _list_error(line, f"a list holds at most {LIST_ENTRIES_MAX} entries")
    if not entries:
        raise _list_error(root.sourceline or 1, "no INDIVIDUAL or ENTITY entries")
    return entries


def _text(element: Any, path: str) -> str:
    found = element.find(path)
    if found is None or found.text is None:
        return ""
    return " ".join(str(found.text).split())


def _un_entry(line: int, element: Any, kind: EntryType) -> ListEntry:
    entry_ref = _text(element, "REFERENCE_NUMBER") or _text(element, "DATAID")
    if not entry_ref or len(entry_ref) > ENTRY_REF_LENGTH_MAX:
        raise _list_error(line, f"{element.tag} needs a REFERENCE_NUMBER or DATAID")
    if kind is EntryType.INDIVIDUAL:
        parts = [_text(element, tag) for tag in ("FIRST_NAME", "SECOND_NAME")]
        parts += [_text(element, tag) for tag in ("THIRD_NAME", "FOURTH_NAME")]
        alias_path, country = "INDIVIDUAL_ALIAS", _text(element, "NATIONALITY/VALUE")
    else:
        parts = [_text(element, "FIRST_NAME")]
        alias_path, country = "ENTITY_ALIAS", _text(element, "ENTITY_ADDRESS/COUNTRY")
    name = _name_field(line, "name", " ".join(part for part in parts if part))
    aliases: list[str] = []
    for alias in element.iterfind(alias_path):
        alias_name = _text(alias, "ALIAS_NAME")
        if _text(alias, "QUALITY").lower() == "low" or not name_tokens(alias_name):
            continue
        aliases.append(alias_name[:NAME_LENGTH_MAX])
    original = _text(element, "NAME_ORIGINAL_SCRIPT")
    if original and name_tokens(original):
        aliases.append(original[:NAME_LENGTH_MAX])
    programme = _text(element, "UN_LIST_TYPE") or "UN"
    return ListEntry(
        entry_ref=entry_ref,
        name=name,
        aliases=tuple(dict.fromkeys(aliases))[:ALIASES_PER_ENTRY_MAX],
        entry_type=kind,
        programme=programme[:PROGRAMME_LENGTH_MAX],
        country=country[:COUNTRY_LENGTH_MAX] or None,
    )


PARSERS = {ListFormat.CSV: parse_csv, ListFormat.UN_XML: parse_un_xml}


# ---------------------------------------------------------------------- the matcher
@dataclass(frozen=True, slots=True)
class _Entry:
    id: uuid.UUID
    list_id: uuid.UUID
    source: str
    list_version: int
    entry_ref: str
    name: str
    entry_type: EntryType
    programme: str
    country: str | None
    fingerprint: str


class _Index:
    """The active lists' names, normalised once per set of list versions.

    Choices are the distinct normalised names sorted by length: `fuzz.ratio` of strings of
    lengths a and b is at most 200 * min(a, b) / (a + b), so only a band of lengths around
    the query's can reach the threshold, and only that band is scored.
    """

    def __init__(
        self, key: tuple[uuid.UUID, ...], entries: list[_Entry], names: list[list[str]]
    ) -> None:
        self.key = key
        self.entries = entries
        owners: dict[str, list[tuple[int, str]]] = {}
        for index, entry_names in enumerate(names):
            for spelling in entry_names:
                normalised = normalise_name(spelling)
                holders = owners.setdefault(normalised, [])
                if not holders or holders[-1][0] != index:  # once per entry: its first spelling
                    holders.append((index, spelling))
        self.choices = sorted(owners, key=len)
        self.lengths = [len(choice) for choice in self.choices]
        self.owners = [tuple(owners[choice]) for choice in self.choices]

    def match(self, normalised: str, cutoff: float) -> list[tuple[_Entry, str, float]]:
        """Entries scoring `cutoff` or more, each with its best spelling and score, best first."""
        length = len(normalised)
        low = math.floor(length * cutoff / (200 - cutoff))
        high = math.ceil(length * (200 - cutoff) / cutoff)
        start = bisect.bisect_left(self.lengths, low)
        end = bisect.bisect_right(self.lengths, high)
        if start >= end:
            return []
        found = process.extract(
            normalised,
            self.choices[start:end],
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=cutoff,
            limit=None,
        )
        best: dict[int, tuple[str, float]] = {}
        for choice, _, position in found:
            score = similarity(normalised, choice)
            if score < cutoff:
                continue
            for entry_index, spelling in self.owners[start + position]:
                if entry_index not in best or score > best[entry_index][1]:
                    best[entry_index] = (spelling, score)
        ranked = sorted(
            best.items(), key=lambda item: (-item[1][1], self.entries[item[0]].entry_ref)
        )[:MATCHES_PER_NAME_MAX]
        return [(self.entries[index], spelling, score) for index, (spelling, score) in ranked]


@dataclass(frozen=True, slots=True)
class _Batch:
    """The names of one screen_many call, checked."""

    names: Sequence[str]
    normalised: list[str]
    subject: str
    references: list[str]
    now: int


@dataclass(frozen=True, slots=True)
class _Hit:
    position: int  # index of the screened name
    entry: _Entry
    matched_name: str
    score: float


# ---------------------------------------------------------------------- the service
class Screening:
    """Screens names of payers, payees and customers against the operator's lists."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        *,
        review_threshold: int = REVIEW_THRESHOLD_DEFAULT,
        block_threshold: int = BLOCK_THRESHOLD_DEFAULT,
    ) -> None:
        if not 0 < review_threshold <= block_threshold <= 100:
            raise ValueError("thresholds: 0 < review_threshold <= block_threshold <= 100")
        self.engine = engine
        self.clock = clock
        self.review_threshold = review_threshold
        self.block_threshold = block_threshold
        self._index: _Index | None = None
        self._index_lock = threading.Lock()

    # ------------------------------------------------------------------ lists
    def import_list(
        self,
        source: str,
        text: str,
        *,
        list_format: ListFormat | str = ListFormat.CSV,
        imported_by: str = "operator",
    ) -> int:
        """Import a list file as the source's new version; returns its number of entries."""
        return self.import_version(
            source, text, list_format=list_format, imported_by=imported_by
        ).entry_count

    def import_version(
        self,
        source: str,
        text: str,
        *,
        list_format: ListFormat | str = ListFormat.CSV,
        imported_by: str = "operator",
    ) -> SanctionList:
        """Like `import_list`, returning the new version. A bad file changes nothing."""
        source = source.strip().lower()
        if not (len(source) <= SOURCE_LENGTH_MAX and _SOURCE.match(source)):
            raise DomainError(
                ScreeningError.SOURCE_INVALID,
                "source must be 1 to 64 characters: letters, digits, '.', '_' or '-'",
                status=422,
                fields={"source": source[:SOURCE_LENGTH_MAX]},
            )
        try:
            chosen = ListFormat(list_format)
        except ValueError:
            raise DomainError(
                ScreeningError.FORMAT_UNSUPPORTED,
                f"list formats: {', '.join(ListFormat)}",
                status=415,
                fields={"format": str(list_format)[:40]},
            ) from None
        imported_by = _actor(imported_by, "imported_by")
        if len(text) > LIST_TEXT_CHARACTERS_MAX:
            raise _list_error(1, f"a list file is limited to {LIST_TEXT_CHARACTERS_MAX} characters")
        entries = PARSERS[chosen](text)
        now = self.clock.now_ns()
        list_id = new_id()
        try:
            with self.engine.begin() as connection:
                latest = connection.execute(
                    sa.select(sa.func.max(lists_table.c.version)).where(
                        lists_table.c.source == source
                    )
                ).scalar_one()
                version = (latest or 0) + 1
                connection.execute(
                    lists_table.update()
                    .where(lists_table.c.source == source, lists_table.c.active.is_(True))
                    .values(active=False)
                )
                connection.execute(
                    lists_table.insert().values(
                        id=list_id,
                        source=source,
                        version=version,
                        format=chosen.value,
                        entry_count=len(entries),
                        active=True,
                        imported_at=now,
                        imported_by=imported_by,
                    )
                )
                rows = [_entry_row(list_id, entry) for entry in entries]
                for start in range(0, len(rows), INSERT_BATCH_SIZE):
                    connection.execute(
                        entries_table.insert(), rows[start : start + INSERT_BATCH_SIZE]
                    )
        except sa.exc.IntegrityError:
            raise DomainError(
                ScreeningError.LIST_IMPORT_CONFLICT,
                f"another import of {source!r} finished first; import again",
                status=409,
                fields={"source": source},
            ) from None
        return SanctionList(
            id=list_id,
            source=source,
            version=version,
            format=chosen,
            entry_count=len(entries),
            active=True,
            imported_at=now,
            imported_by=imported_by,
        )

    def lists(self, *, include_inactive: bool = False) -> list[SanctionList]:
        query = sa.select(lists_table).order_by(lists_table.c.source, lists_table.c.version)
        if not include_inactive:
            query = query.where(lists_table.c.active.is_(True))
        with self.engine.connect() as connection:
            return [_list_from_row(row) for row in connection.execute(query)]

    def entries(self, list_id: uuid.UUID) -> list[ListEntry]:
        """The entries of one list version, as imported."""
        query = (
            sa.select(entries_table)
            .where(entries_table.c.list_id == list_id)
            .order_by(entries_table.c.entry_ref)
        )
        with self.engine.connect() as connection:
            return [
                ListEntry(
                    entry_ref=row.entry_ref,
                    name=row.name,
                    aliases=tuple(row.aliases),
                    entry_type=EntryType(row.entry_type),
                    programme=row.programme,
                    country=row.country,
                )
                for row in connection.execute(query)
            ]

    # ------------------------------------------------------------------ screening
    def screen(self, name: str, *, subject: str, reference: str) -> ScreeningResult:
        return self.screen_many([name], subject=subject, references=[reference])[0]

    def screen_many(
        self,
        names: Sequence[str],
        *,
        subject: str = "payee",
        references: Sequence[str] | None = None,
    ) -> list[ScreeningResult]:
        """Screen many names at once (a bulk payout); results in the order of `names`.

        `references` (the wallet's ids of what each name belongs to) go with `names` one for
        one; without them each reference is empty. A bad name refuses the whole batch.
        """
        if len(names) > SCREEN_MANY_NAMES_MAX:
            raise DomainError(
                ScreeningError.TOO_MANY_NAMES,
                f"screen at most {SCREEN_MANY_NAMES_MAX} names at once",
                status=422,
                fields={"count": len(names)},
            )
        if references is None:
            references = [""] * len(names)
        if len(references) != len(names):
            raise _request_error("references must go with names one for one")
        subject = _subject(subject)
        checked = [_reference(reference) for reference in references]
        normalised = [_screened_name(position, name) for position, name in enumerate(names)]
        now = self.clock.now_ns()
        index = self._current_index()
        cutoff = self.review_threshold - 0.05  # scores are reported to one decimal
        hits: list[_Hit] = []
        if index is not None:
            matched: dict[str, list[tuple[_Entry, str, float]]] = {}
            for position, key in enumerate(normalised):
                if key not in matched:  # a payout file often names the same payee twice
                    matched[key] = index.match(key, cutoff)
                hits += [_Hit(position, *found) for found in matched[key]]
        batch = _Batch(names, normalised, subject, checked, now)
        decided = self._record(hits, batch) if hits else {}
        matches: list[list[ScreeningMatch]] = [[] for _ in names]
        for hit in hits:
            matches[hit.position].append(decided[(hit.position, hit.entry.id)])
        return [
            ScreeningResult(
                name=name,
                normalised_name=normalised[position],
                subject=subject,
                reference=checked[position],
                outcome=max(
                    (match.outcome for match in matches[position]),
                    key=_OUTCOME_RANK.__getitem__,
                    default=Outcome.CLEAR,
                ),
                matches=tuple(sorted(matches[position], key=_match_order)),
                list_ids=index.key if index else (),
                screened_at=now,
            )
            for position, name in enumerate(names)
        ]

    def _outcome(self, score: float) -> Outcome:
        if score >= self.block_threshold:
            return Outcome.BLOCK
        if score >= self.review_threshold:
            return Outcome.REVIEW
        return Outcome.CLEAR

    def _current_index(self) -> _Index | None:
        """The matcher for the active list versions, rebuilt when an import changed them.

        Every call asks the database which versions are active, so an import in another
        process is seen by the next screen here.
        """
        with self.engine.connect() as connection:
            active = connection.execute(
                sa.select(lists_table.c.id)
                .where(lists_table.c.active.is_(True))
                .order_by(lists_table.c.id)
            )
            key = tuple(row.id for row in active)
        if not key:
            return None
        with self._index_lock:
            if self._index is not None and self._index.key == key:
                return self._index
            self._index = self._load_index(key)
            return self._index

    def _load_index(self, key: tuple[uuid.UUID, ...]) -> _Index:
        query = (
            sa.select(entries_table, lists_table.c.source, lists_table.c.version)
            .join(lists_table, lists_table.c.id == entries_table.c.list_id)
            .where(entries_table.c.list_id.in_(key))
            .order_by(lists_table.c.source, entries_table.c.entry_ref)
        )
        entries: list[_Entry] = []
        names: list[list[str]] = []
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                entries.append(
                    _Entry(
                        id=row.id,
                        list_id=row.list_id,
                        source=row.source,
                        list_version=row.version,
                        entry_ref=row.entry_ref,
                        name=row.name,
                        entry_type=EntryType(row.entry_type),
                        programme=row.programme,
                        country=row.country,
                        fingerprint=row.fingerprint,
                    )
                )
                names.append([row.name, *row.aliases])
        return _Index(key, entries, names)

    def _record(
        self, hits: list[_Hit], batch: _Batch
    ) -> dict[tuple[int, uuid.UUID], ScreeningMatch]:
        """Open or reuse reviews for the hits, apply remembered decisions, trail every hit.

        Retried when a concurrent screen opened the same review first (unique name + entry).
        """
        attempts = 0
        while True:
            attempts += 1
            try:
                with self.engine.begin() as connection:
                    return self._record_once(connection, hits, batch)
            except sa.exc.IntegrityError:
                if attempts >= WRITE_ATTEMPTS_MAX:
                    raise

    def _record_once(
        self, connection: sa.Connection, hits: list[_Hit], batch: _Batch
    ) -> dict[tuple[int, uuid.UUID], ScreeningMatch]:
        normalised, now = batch.normalised, batch.now
        by_hit: dict[tuple[str, uuid.UUID], Any] = {}
        remembered: dict[tuple[str, str, str, str], Any] = {}
        hit_names = sorted({normalised[hit.position] for hit in hits})
        for chunk in _chunks(hit_names, QUERY_IN_BATCH_SIZE):
            rows = connection.execute(
                sa.select(reviews_table)
                .where(reviews_table.c.normalised_name.in_(chunk))
                .order_by(reviews_table.c.created_at, reviews_table.c.id)
            )
            for row in rows:
                by_hit[(row.normalised_name, row.entry_id)] = row
                if row.status == ReviewStatus.OPEN:
                    continue
                same = (row.normalised_name, row.source, row.entry_ref, row.fingerprint)
                earlier = remembered.get(same)
                if earlier is None or earlier.resolved_at <= row.resolved_at:
                    remembered[same] = row  # the latest decision wins
        new_reviews: list[dict[str, Any]] = []
        opened: dict[tuple[str, uuid.UUID], uuid.UUID] = {}
        events: list[dict[str, Any]] = []
        hit_counts: dict[uuid.UUID, int] = {}
        decided: dict[tuple[int, uuid.UUID], ScreeningMatch] = {}
        for hit in hits:
            key = normalised[hit.position]
            entry = hit.entry
            event = {
                "actor": SYSTEM_ACTOR,
                "at": now,
                "subject": batch.subject,
                "reference": batch.references[hit.position],
                "note": f"score {hit.score}",
            }
            existing = by_hit.get((key, entry.id))
            if existing is None:
                existing = remembered.get((key, entry.source, entry.entry_ref, entry.fingerprint))
            decision: ReviewStatus | None = None
            if existing is not None:
                review_id = existing.id
                status = ReviewStatus(existing.status)
                if status is ReviewStatus.RELEASED:
                    outcome, decision = Outcome.CLEAR, status
                elif status is ReviewStatus.CONFIRMED:
                    outcome, decision = Outcome.BLOCK, status
                else:
                    outcome = Outcome(existing.outcome)
                hit_counts[review_id] = hit_counts.get(review_id, 0) + 1
                events.append({**event, "review_id": review_id, "action": "hit"})
            elif (key, entry.id) in opened:
                review_id = opened[(key, entry.id)]
                outcome = self._outcome(hit.score)
                hit_counts[review_id] = hit_counts.get(review_id, 0) + 1
                events.append({**event, "review_id": review_id, "action": "hit"})
            else:
                review_id = new_id()
                outcome = self._outcome(hit.score)
                opened[(key, entry.id)] = review_id
                new_reviews.append(_review_row(review_id, hit, outcome, batch))
                events.append({**event, "review_id": review_id, "action": "opened"})
            decided[(hit.position, entry.id)] = ScreeningMatch(
                entry_id=entry.id,
                list_id=entry.list_id,
                source=entry.source,
                list_version=entry.list_version,
                entry_ref=entry.entry_ref,
                entry_name=entry.name,
                entry_type=entry.entry_type,
                programme=entry.programme,
                country=entry.country,
                matched_name=hit.matched_name,
                score=hit.score,
                outcome=outcome,
                review_id=review_id,
                decision=decision,
            )
        if new_reviews:
            connection.execute(reviews_table.insert(), new_reviews)
        for review_id, count in hit_counts.items():
            connection.execute(
                reviews_table.update()
                .where(reviews_table.c.id == review_id)
                .values(hits=reviews_table.c.hits + count, last_hit_at=now)
            )
        for events_chunk in _chunks(events, INSERT_BATCH_SIZE):
            connection.execute(review_events_table.insert(), events_chunk)
        return decided

    # ------------------------------------------------------------------ the review queue
    def reviews(
        self, status: str | None = ReviewStatus.OPEN, limit: int = REVIEWS_PAGE_DEFAULT
    ) -> list[Review]:
        """Reviews oldest first (a queue), in one status or (None) all of them."""
        if not 1 <= limit <= REVIEWS_PAGE_MAX:
            raise _request_error(f"limit must be 1 to {REVIEWS_PAGE_MAX}")
        query = sa.select(reviews_table).order_by(reviews_table.c.created_at, reviews_table.c.id)
        if status is not None:
            if status not in ReviewStatus.__members__.values():
                raise _request_error(f"status must be one of {', '.join(ReviewStatus)}")
            query = query.where(reviews_table.c.status == status)
        with self.engine.connect() as connection:
            return [_review_from_row(row) for row in connection.execute(query.limit(limit))]

    def review(self, review_id: uuid.UUID) -> Review:
        with self.engine.connect() as connection:
            return _review_from_row(_review_row_or_404(connection, review_id))

    def review_events(self, review_id: uuid.UUID) -> list[ReviewEvent]:
        """The review's trail in order: opened, each later hit, the decision."""
        with self.engine.connect() as connection:
            _review_row_or_404(connection, review_id)
            rows = connection.execute(
                sa.select(review_events_table)
                .where(review_events_table.c.review_id == review_id)
                .order_by(review_events_table.c.seq)
            )
            return [
                ReviewEvent(
                    seq=row.seq,
                    review_id=row.review_id,
                    action=row.action,
                    actor=row.actor,
                    at=row.at,
                    subject=row.subject,
                    reference=row.reference,
                    note=row.note,
                )
                for row in rows
            ]

    def resolve(
        self, review_id: uuid.UUID, decision: Decision | str, reviewer: str, note: str
    ) -> Review:
        """An analyst's decision: release (false positive) or confirm (a true match). Once."""
        try:
            chosen = Decision(decision)
        except ValueError:
            raise DomainError(
                ScreeningError.DECISION_INVALID,
                "decision must be 'release' or 'confirm'",
                status=422,
                fields={"decision": str(decision)[:40]},
            ) from None
        reviewer = _actor(reviewer, "reviewer")
        note = " ".join(note.split())
        if not note or len(note) > NOTE_LENGTH_MAX:
            raise _request_error(f"note must say why, in 1 to {NOTE_LENGTH_MAX} characters")
        status = ReviewStatus.RELEASED if chosen is Decision.RELEASE else ReviewStatus.CONFIRMED
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            row = _review_row_or_404(connection, review_id)
            changed = connection.execute(
                reviews_table.update()
                .where(reviews_table.c.id == review_id, reviews_table.c.status == ReviewStatus.OPEN)
                .values(status=status, resolved_at=now, resolved_by=reviewer, note=note)
            ).rowcount
            if changed != 1:
                raise DomainError(
                    ScreeningError.REVIEW_RESOLVED,
                    f"review {review_id} was already {row.status} by {row.resolved_by}",
                    status=409,
                    fields={"review_id": str(review_id), "status": row.status},
                )
            connection.execute(
                review_events_table.insert().values(
                    review_id=review_id,
                    action=status.value,
                    actor=reviewer,
                    at=now,
                    subject=row.subject,
                    reference=row.reference,
                    note=note,
                )
            )
            return _review_from_row(_review_row_or_404(connection, review_id))


# ---------------------------------------------------------------------- helpers
def _request_error(message: str, **fields: Any) -> DomainError:
    return DomainError(ScreeningError.REQUEST_INVALID, message, status=422, fields=fields)


def _actor(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > ACTOR_LENGTH_MAX:
        raise _request_error(f"{field} must be 1 to {ACTOR_LENGTH_MAX} characters", field=field)
    return value


def _subject(value: str) -> str:
    value = value.strip().lower()
    if not (len(value) <= SUBJECT_LENGTH_MAX and _SUBJECT.match(value)):
        raise _request_error(
            "subject is a word such as payee, payer or customer", subject=value[:40]
        )
    return value


def _reference(value: str) -> str:
    value = value.strip()
    if len(value) > REFERENCE_LENGTH_MAX:
        raise _request_error(f"reference is limited to {REFERENCE_LENGTH_MAX} characters")
    return value


def _screened_name(position: int, name: str) -> str:
    if not name.strip() or len(name) > NAME_LENGTH_MAX:
        raise DomainError(
            ScreeningError.NAME_INVALID,
            f"a name must be 1 to {NAME_LENGTH_MAX} characters",
            status=422,
            fields={"position": position},
        )
    normalised = normalise_name(name)
    if not normalised:
        raise DomainError(
            ScreeningError.NAME_INVALID,
            "a name needs letters or digits",
            status=422,
            fields={"position": position, "name": name[:40]},
        )
    return normalised


def _match_order(match: ScreeningMatch) -> tuple[int, float, str]:
    return (-_OUTCOME_RANK[match.outcome], -match.score, match.entry_ref)


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _entry_row(list_id: uuid.UUID, entry: ListEntry) -> dict[str, Any]:
    return {
        "id": new_id(),
        "list_id": list_id,
        "entry_ref": entry.entry_ref,
        "name": entry.name,
        "aliases": list(entry.aliases),
        "entry_type": entry.entry_type.value,
        "programme": entry.programme,
        "country": entry.country,
        "fingerprint": entry.fingerprint,
    }


def _review_row(review_id: uuid.UUID, hit: _Hit, outcome: Outcome, batch: _Batch) -> dict[str, Any]:
    entry = hit.entry
    return {
        "id": review_id,
        "status": ReviewStatus.OPEN.value,
        "outcome": outcome.value,
        "score": hit.score,
        "name": batch.names[hit.position],
        "normalised_name": batch.normalised[hit.position],
        "subject": batch.subject,
        "reference": batch.references[hit.position],
        "list_id": entry.list_id,
        "source": entry.source,
        "list_version": entry.list_version,
        "entry_id": entry.id,
        "entry_ref": entry.entry_ref,
        "entry_name": entry.name,
        "fingerprint": entry.fingerprint,
        "matched_name": hit.matched_name,
        "hits": 1,
        "created_at": batch.now,
        "last_hit_at": batch.now,
        "resolved_at": None,
        "resolved_by": None,
        "note": None,
    }


def _review_row_or_404(connection: sa.Connection, review_id: uuid.UUID) -> Any:
    row = connection.execute(
        sa.select(reviews_table).where(reviews_table.c.id == review_id)
    ).one_or_none()
    if row is None:
        raise DomainError(
            ScreeningError.REVIEW_NOT_FOUND,
            f"no review {review_id}",
            status=404,
            fields={"review_id": str(review_id)},
        )
    return row


def _review_from_row(row: Any) -> Review:
    return Review(
        id=row.id,
        status=ReviewStatus(row.status),
        outcome=Outcome(row.outcome),
        score=row.score,
        name=row.name,
        normalised_name=row.normalised_name,
        subject=row.subject,
        reference=row.reference,
        list_id=row.list_id,
        source=row.source,
        list_version=row.list_version,
        entry_id=row.entry_id,
        entry_ref=row.entry_ref,
        entry_name=row.entry_name,
        matched_name=row.matched_name,
        hits=row.hits,
        created_at=row.created_at,
        last_hit_at=row.last_hit_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        note=row.note,
    )


def _list_from_row(row: Any) -> SanctionList:
    return SanctionList(
        id=row.id,
        source=row.source,
        version=row.version,
        format=ListFormat(row.format),
        entry_count=row.entry_count,
        active=row.active,
        imported_at=row.imported_at,
        imported_by=row.imported_by,
    )
