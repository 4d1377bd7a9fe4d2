"""lxml behind a small typed surface: the hardened parser, the official schemas, tree helpers.

lxml ships no type information, so the rest of the package sees elements only through the
`XmlElement` protocol below and never touches `lxml.etree` directly.

Parsing is hardened against hostile input: no network, no DTD loading, no entity expansion,
libxml2's default depth and size limits (huge_tree off), comments and processing instructions
dropped. A document that carries a DOCTYPE at all is refused: ISO 20022 messages never need
one, and refusing it outright is simpler to reason about than trusting every entity setting.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol, cast

from lxml import etree as _lxml_etree  # type: ignore[import-untyped]

from tijarat.kernel.errors import DomainError
from tijarat.switch.iso20022.errors import Iso20022Error

if TYPE_CHECKING:
    from collections.abc import Iterator

# lxml is untyped: one Any-typed name, used only in this module.
_etree: Any = _lxml_etree

MESSAGE_BYTES_MAX = 1 << 20  # 1 MiB: a pacs.008 is about 2 KiB; bulk files must be split
SCHEMA_ERRORS_REPORTED_MAX = 5  # enough to fix a message; more would only echo one mistake
ISO_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
# Our transport wrapper: <Message xmlns=ENVELOPE_NAMESPACE><AppHdr/><Document/></Message>.
ENVELOPE_NAMESPACE = "urn:tijarat:xsd:envelope:1"
ENVELOPE_ROOT = "Message"


class MessageType(StrEnum):
    """Every message with an official schema in the package (the codec covers most of them)."""

    HEAD_001 = "head.001.001.02"
    PACS_002 = "pacs.002.001.10"
    PACS_004 = "pacs.004.001.09"
    PACS_008 = "pacs.008.001.08"
    PACS_028 = "pacs.028.001.03"
    PAIN_001 = "pain.001.001.09"
    PAIN_002 = "pain.002.001.10"
    PAIN_013 = "pain.013.001.07"
    PAIN_014 = "pain.014.001.07"
    CAMT_029 = "camt.029.001.09"
    CAMT_053 = "camt.053.001.08"
    CAMT_054 = "camt.054.001.08"
    CAMT_056 = "camt.056.001.08"

    @property
    def namespace(self) -> str:
        return ISO_NAMESPACE_PREFIX + self.value


_TYPE_BY_NAMESPACE = {message_type.namespace: message_type for message_type in MessageType}


class XmlElement(Protocol):
    """The part of lxml's _Element this package uses."""

    text: str | None
    tail: str | None

    @property
    def tag(self) -> str: ...

    @property
    def sourceline(self) -> int | None: ...

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def getparent(self) -> XmlElement | None: ...

    def __iter__(self) -> Iterator[XmlElement]: ...

    def __len__(self) -> int: ...


# ---------------------------------------------------------------------------- errors


def coded_error(code: Iso20022Error, message: str, **fields: Any) -> DomainError:
    status = {
        Iso20022Error.TOO_LARGE: 413,
        Iso20022Error.MALFORMED_XML: 400,
    }.get(code, 422)
    return DomainError(code, message, status=status, fields=fields)


def _too_large(size: int) -> DomainError:
    return coded_error(
        Iso20022Error.TOO_LARGE,
        f"ISO 20022 messages are limited to {MESSAGE_BYTES_MAX} bytes",
        size=size,
        size_max=MESSAGE_BYTES_MAX,
    )


def check_size(size: int) -> None:
    if size > MESSAGE_BYTES_MAX:
        raise _too_large(size)


# ---------------------------------------------------------------------------- parsing

_parsers = threading.local()  # an lxml parser must not be used by two threads at once


def _parser() -> Any:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _parsers.parser = parser
    return parser


def parse_root(data: bytes) -> XmlElement:
    """The root element of untrusted bytes, or a coded DomainError; nothing is expanded."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise coded_error(
            Iso20022Error.MALFORMED_XML, "an ISO 20022 message must be given as bytes"
        )
    check_size(len(data))
    try:
        tree = _etree.ElementTree(_etree.fromstring(bytes(data), parser=_parser()))
    except _etree.XMLSyntaxError as error:
        raise coded_error(
            Iso20022Error.MALFORMED_XML,
            "the message is not well-formed XML",
            errors=[
                {"line": entry.line, "message": entry.message}
                for entry in list(error.error_log)[:SCHEMA_ERRORS_REPORTED_MAX]
            ]
            or [{"line": error.lineno, "message": str(error)}],
        ) from None
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise coded_error(
            Iso20022Error.MALFORMED_XML,
            "a DOCTYPE is not allowed in an ISO 20022 message",
            reason="doctype",
        )
    return cast("XmlElement", tree.getroot())


# ---------------------------------------------------------------------------- names


def split_tag(element: XmlElement) -> tuple[str, str]:
    """(namespace, local name); namespace "" for an element in no namespace."""
    tag = element.tag
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def message_type_of_namespace(namespace: str) -> MessageType | None:
    return _TYPE_BY_NAMESPACE.get(namespace)


def iso_type_of_root(root: XmlElement) -> MessageType:
    """The message type of a bare Document or AppHdr root; unsupported otherwise."""
    namespace, local = split_tag(root)
    message_type = message_type_of_namespace(namespace)
    expected_local = "AppHdr" if message_type is MessageType.HEAD_001 else "Document"
    if message_type is None or local != expected_local:
        raise coded_error(
            Iso20022Error.UNSUPPORTED_MESSAGE,
            "the root element is not an ISO 20022 Document or AppHdr of a supported message",
            namespace=namespace[:200],
            element=local[:100],
        )
    return message_type


def is_envelope(root: XmlElement) -> bool:
    return split_tag(root) == (ENVELOPE_NAMESPACE, ENVELOPE_ROOT)


def envelope_parts(root: XmlElement) -> tuple[XmlElement, XmlElement]:
    """(AppHdr, Document) of our envelope, checked for shape but not yet against the XSDs."""
    parts = list(root)
    stray_text = [root.text, *(part.tail for part in parts)]
    if len(parts) != 2 or any(text and text.strip() for text in stray_text):
        raise _envelope_error(root)
    header, document = parts
    if iso_type_of_root(header) is not MessageType.HEAD_001:
        raise _envelope_error(root)
    if iso_type_of_root(document) is MessageType.HEAD_001:
        raise _envelope_error(root)
    return header, document


def _envelope_error(root: XmlElement) -> DomainError:
    return coded_error(
        Iso20022Error.SCHEMA_INVALID,
        f"an envelope holds exactly an AppHdr ({MessageType.HEAD_001}) and then a Document",
        errors=[{"line": root.sourceline, "message": "unexpected envelope content"}],
    )


# ---------------------------------------------------------------------------- schemas


@dataclass(frozen=True, slots=True)
class _Schema:
    validator: Any  # lxml.etree.XMLSchema
    # One validator's error_log is shared by its callers: validate and read it under a lock.
    lock: threading.Lock


@cache
def _schema(message_type: MessageType) -> _Schema:
    source = resources.files("tijarat.switch") / "schemas" / f"{message_type.value}.xsd"
    document = _etree.fromstring(source.read_bytes(), parser=_parser())
    return _Schema(_etree.XMLSchema(document), threading.Lock())


def schema_errors(element: XmlElement, message_type: MessageType) -> list[dict[str, Any]]:
    """libxml2's complaints about `element` against the official XSD; [] when it is valid."""
    schema = _schema(message_type)
    with schema.lock:
        if schema.validator.validate(element):
            return []
        entries = list(schema.validator.error_log)
    return [
        {"line": entry.line, "message": entry.message}
        for entry in entries[:SCHEMA_ERRORS_REPORTED_MAX]
    ]


def validate_element(element: XmlElement, message_type: MessageType) -> None:
    errors = schema_errors(element, message_type)
    if errors:
        raise coded_error(
            Iso20022Error.SCHEMA_INVALID,
            f"the message is not a valid {message_type.value}",
            message_type=message_type.value,
            errors=errors,
        )


# ---------------------------------------------------------------------------- building


def new_root(namespace: str, local: str) -> XmlElement:
    return cast("XmlElement", _etree.Element(f"{{{namespace}}}{local}", nsmap={None: namespace}))


def add(parent: XmlElement, local: str, text: str | None = None) -> XmlElement:
    """A child in the parent's namespace: every ISO 20022 message lives in one namespace."""
    element = cast("XmlElement", _etree.SubElement(parent, _child_tag(parent.tag, local)))
    if text is not None:
        element.text = text
    return element


def append(parent: XmlElement, child: XmlElement) -> None:
    cast("Any", parent).append(child)


def serialize(root: XmlElement) -> bytes:
    data: bytes = _etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


# ---------------------------------------------------------------------------- flat reading


@dataclass(frozen=True, slots=True)
class Field:
    """One value a `Flattener` lifts from each item: `path` is local names from the item
    down (the first of each, as `text_at` reads), optionally ending in "@attribute".

    kind "text": the element's text ("" when empty), the key absent when the element is;
    "present": "" when the element is there, absent otherwise; "count": how many of the
    path's last element its parent holds (absent when the parent is: 0)."""

    key: str
    path: tuple[str, ...]
    kind: str = "text"


class Flattener:
    """The fields of every item of every group of a message, in one pass of libxslt (C).

    Reading a large message element by element costs a Python proxy and a look-up for each
    field (~0.7 us; a 3,000-row pain.001 spent half its time there); an XSLT stylesheet made
    once from the field list walks the tree in C and hands back one dict per item. What the
    dicts hold is what the element readers would read: the first element of each step, its
    text as lxml's `.text` gives it (comments and processing instructions are dropped by the
    parser, so an element's text is its string value). The element readers stay the
    reference: tests prove both agree, and a reader falls back to them to locate an error.
    """

    def __init__(self, namespace: str, group: str, item: str, fields: tuple[Field, ...]) -> None:
        lifts = _lifts(fields, "p")
        self._stylesheet = (
            '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
            f'xmlns:p="{namespace}"><xsl:template match="/"><f>'
            f'<xsl:for-each select="/*/p:{group}"><g><xsl:for-each select="p:{item}"><i>'
            f"{''.join(lifts)}</i></xsl:for-each></g></xsl:for-each>"
            "</f></xsl:template></xsl:stylesheet>"
        ).encode()
        self._local = threading.local()  # an XSLT object per thread, as the parsers

    def __call__(self, root: XmlElement) -> list[list[dict[str, str]]]:
        """For each `group` child of `root`, one dict per `item` child, in document order."""
        transform = getattr(self._local, "transform", None)
        if transform is None:
            transform = _etree.XSLT(_etree.fromstring(self._stylesheet))
            self._local.transform = transform
        # lxml treats an element given to XSLT as the root of its document.
        result = transform(root).getroot()
        return [[dict(item.attrib) for item in group] for group in result]


def _lifts(fields: tuple[Field, ...], prefix: str) -> list[str]:
    """The XSLT that lifts each field (paths in namespace `prefix`) into an attribute.

    The paths are walked as a tree, one nested for-each per step, so each element on the
    way is found once, however many fields lie under it (testing every path from the item
    cost libxslt twice as much on a pacs.002 envelope). A "count" field is absent when the
    parent of what it counts is: read it as 0."""
    tree: dict[str, Any] = {}
    for field in fields:
        steps = field.path[:-1] if field.kind == "count" else field.path
        node = tree
        for local in steps:
            node = node.setdefault(local, {})
        node.setdefault("", []).append(field)  # "" is never a local name

    def emit(node: dict[str, Any]) -> list[str]:
        out = []
        for field in node.get("", []):
            if field.kind == "count":
                counted = f"{prefix}:{field.path[-1]}"
                value = f'<xsl:value-of select="count({counted})"/>'
            else:
                value = '<xsl:value-of select="."/>' if field.kind == "text" else ""
            out.append(f'<xsl:attribute name="{field.key}">{value}</xsl:attribute>')
        for local, below in node.items():
            if local:
                step = local if local.startswith("@") else f"{prefix}:{local}[1]"
                out += [f'<xsl:for-each select="{step}">', *emit(below), "</xsl:for-each>"]
        return out

    return emit(tree)


@dataclass(frozen=True, slots=True)
class Records:
    """Every element at `select` (an XPath from the document's root, in the prefixes given
    to the RecordFlattener), each lifted into one dict of `fields` (paths in `prefix`)."""

    name: str
    select: str
    prefix: str
    fields: tuple[Field, ...]


class RecordFlattener:
    """A Flattener for messages of several parts: one pass of libxslt over a whole envelope
    (its AppHdr, its Document's group header and its transactions, say) gives, for each
    `Records`, one dict per element selected, in document order."""

    def __init__(self, namespaces: dict[str, str], records: tuple[Records, ...]) -> None:
        declared = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in namespaces.items())
        parts = "".join(
            f'<xsl:for-each select="{record.select}"><{record.name}>'
            f"{''.join(_lifts(record.fields, record.prefix))}</{record.name}></xsl:for-each>"
            for record in records
        )
        self._names = [record.name for record in records]
        self._stylesheet = (
            '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
            f'{declared}><xsl:template match="/"><f>{parts}</f></xsl:template></xsl:stylesheet>'
        ).encode()
        self._local = threading.local()

    def __call__(self, root: XmlElement) -> dict[str, list[dict[str, str]]]:
        transform = getattr(self._local, "transform", None)
        if transform is None:
            transform = _etree.XSLT(_etree.fromstring(self._stylesheet))
            self._local.transform = transform
        found: dict[str, list[dict[str, str]]] = {name: [] for name in self._names}
        for element in transform(root).getroot():
            found[element.tag].append(dict(element.attrib))
        return found


# ---------------------------------------------------------------------------- reading


@lru_cache(maxsize=4096)
def _child_tag(parent_tag: str, local: str) -> str:
    """The tag of a child named `local` in its parent's namespace (few distinct: cached)."""
    if parent_tag.startswith("{"):
        return parent_tag[: parent_tag.index("}") + 1] + local
    return local


def children(parent: XmlElement, local: str) -> list[XmlElement]:
    # iterchildren's tag filter runs in lxml's C code: twice as fast as comparing here.
    return list(cast("Any", parent).iterchildren(_child_tag(parent.tag, local)))


def child(parent: XmlElement, local: str) -> XmlElement | None:
    found: XmlElement | None = next(
        cast("Any", parent).iterchildren(_child_tag(parent.tag, local)), None
    )
    return found


def required(parent: XmlElement, local: str) -> XmlElement:
    found = child(parent, local)
    if found is None:
        # The schema requires most of what we read, so this is an element the hub requires.
        _, parent_local = split_tag(parent)
        raise coded_error(
            Iso20022Error.INVALID_FIELD,
            f"{parent_local} must contain {local}",
            element=f"{parent_local}/{local}",
            line=parent.sourceline,
        )
    return found


def text_at(parent: XmlElement, *path: str) -> str | None:
    """The text of the first element at a path of local names, or None when absent."""
    element: XmlElement | None = parent
    for local in path:
        if element is None:
            return None
        element = child(element, local)
    if element is None:
        return None
    return element.text or ""


def required_text(parent: XmlElement, *path: str) -> str:
    text = text_at(parent, *path)
    if text is None:
        _, parent_local = split_tag(parent)
        raise coded_error(
            Iso20022Error.INVALID_FIELD,
            f"{parent_local} must contain {'/'.join(path)}",
            element=f"{parent_local}/{'/'.join(path)}",
            line=parent.sourceline,
        )
    return text
