"""head.001.001.02 Business Application Header, and the envelope that carries it with its
Document in one XML document (our transport, described in document.py).

The envelope's own namespace has no XSD: its shape is two children, AppHdr then Document,
checked in code; each child is then validated against its official XSD. The header's
MsgDefIdr must name the Document's message type (iso20022_header_mismatch otherwise).
"""

from __future__ import annotations

from typing import Any

from tijarat.kernel.errors import DomainError
from tijarat.switch.iso20022._common import (
    Codec,
    located,
    read_agent,
    read_required_datetime,
    write_agent,
)
from tijarat.switch.iso20022._xml import (
    ENVELOPE_NAMESPACE,
    ENVELOPE_ROOT,
    MessageType,
    XmlElement,
    add,
    append,
    check_size,
    child,
    coded_error,
    envelope_parts,
    is_envelope,
    iso_type_of_root,
    new_root,
    parse_root,
    required,
    required_text,
    serialize,
    text_at,
    validate_element,
)
from tijarat.switch.iso20022.document import (
    codec_for,
    codec_of_type,
    document_element,
    finish,
    read_document,
)
from tijarat.switch.iso20022.errors import Iso20022Error
from tijarat.switch.iso20022.flat import read_status_envelope
from tijarat.switch.iso20022.model import Agent, BusinessApplicationHeader, Envelope
from tijarat.switch.iso20022.values import boolean_from_text, datetime_to_text


def _header_element(header: BusinessApplicationHeader) -> XmlElement:
    root = new_root(MessageType.HEAD_001.namespace, "AppHdr")
    write_agent(add(root, "Fr"), "FIId", header.from_agent)
    write_agent(add(root, "To"), "FIId", header.to_agent)
    add(root, "BizMsgIdr", header.business_message_id)
    add(root, "MsgDefIdr", header.message_definition_id)
    if header.business_service is not None:
        add(root, "BizSvc", header.business_service)
    add(root, "CreDt", datetime_to_text(header.created_at))
    if header.possible_duplicate:
        add(root, "PssblDplct", "true")
    return root


def _read_header(root: XmlElement) -> BusinessApplicationHeader:
    with located(root):
        sender = required(root, "Fr")
        receiver = required(root, "To")
        duplicate = text_at(root, "PssblDplct")
        return BusinessApplicationHeader(
            from_agent=_read_party_choice(sender),
            to_agent=_read_party_choice(receiver),
            business_message_id=required_text(root, "BizMsgIdr"),
            message_definition_id=required_text(root, "MsgDefIdr"),
            created_at=read_required_datetime(root, "CreDt"),
            business_service=text_at(root, "BizSvc"),
            possible_duplicate=duplicate is not None
            and boolean_from_text(duplicate, "possible_duplicate"),
        )


def _read_party_choice(element: XmlElement) -> Agent:
    """Party44Choice: the hub's participants are financial institutions (FIId)."""
    institution = child(element, "FIId")
    if institution is None:
        raise coded_error(
            Iso20022Error.INVALID_FIELD,
            "Fr and To must identify a financial institution (FIId)",
            field="from_agent",
            line=element.sourceline,
        )
    return read_agent(institution)


def build_app_header(header: BusinessApplicationHeader) -> bytes:
    """A bare AppHdr document, valid against head.001.001.02."""
    if not isinstance(header, BusinessApplicationHeader):
        raise TypeError(f"expected BusinessApplicationHeader, not {type(header).__name__}")
    return finish(_header_element(header), MessageType.HEAD_001)


def parse_app_header(xml: bytes) -> BusinessApplicationHeader:
    root = parse_root(xml)
    actual = None if is_envelope(root) else iso_type_of_root(root)
    if actual is not MessageType.HEAD_001:
        raise coded_error(
            Iso20022Error.WRONG_MESSAGE_TYPE,
            f"expected a bare {MessageType.HEAD_001.value} AppHdr",
            expected=MessageType.HEAD_001.value,
        )
    validate_element(root, MessageType.HEAD_001)
    return _read_header(root)


def build_envelope(envelope: Envelope) -> bytes:
    """<Message> holding the AppHdr and the Document; each part valid against its XSD."""
    if not isinstance(envelope, Envelope):
        raise TypeError(f"expected Envelope, not {type(envelope).__name__}")
    codec: Codec[Any] = codec_for(envelope.document)
    root = new_root(ENVELOPE_NAMESPACE, ENVELOPE_ROOT)
    header = _header_element(envelope.header)
    document = document_element(codec, envelope.document)
    append(root, header)
    append(root, document)
    data = serialize(root)
    check_size(len(data))
    validate_element(header, MessageType.HEAD_001)
    validate_element(document, codec.message_type)
    return data


def parse_envelope(xml: bytes) -> Envelope:
    """An envelope's header and document, each validated against its XSD, and consistent."""
    root = parse_root(xml)
    if not is_envelope(root):
        raise coded_error(
            Iso20022Error.WRONG_MESSAGE_TYPE,
            f'expected an envelope: <{ENVELOPE_ROOT} xmlns="{ENVELOPE_NAMESPACE}">',
        )
    header_element, document = envelope_parts(root)
    validate_element(header_element, MessageType.HEAD_001)
    message_type = iso_type_of_root(document)
    codec = codec_of_type(message_type)
    validate_element(document, message_type)
    flat = None
    if message_type is MessageType.PACS_002:  # one per payment: read in one pass (flat.py)
        try:
            flat = read_status_envelope(root)
        except DomainError:
            flat = None  # refused: the element readers refuse it too, and say where
    if flat is None:
        header = _read_header(header_element)
        message: Any = read_document(codec, document)
    else:
        header, message = flat
    try:
        return Envelope(header=header, document=message)
    except DomainError as error:
        error.fields.setdefault("line", header_element.sourceline)
        raise
