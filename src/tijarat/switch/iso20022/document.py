"""Documents: building, parsing, validating and recognising ISO 20022 messages.

Transport. A message travels as one XML document of our own namespace holding the
Business Application Header and the Document side by side::

    <Message xmlns="urn:tijarat:xsd:envelope:1">
      <AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02">...</AppHdr>
      <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">...</Document>
    </Message>

(see envelope.py). A bare Document or a bare AppHdr is accepted too: `validate` and
`detect_message_type` take any of the three, `parse_*` take a bare Document, and
`parse_envelope` the wrapper. Every parse checks the input against the official XSD before
reading a single value, and every build checks its own output the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from tijarat.kernel.errors import DomainError
from tijarat.switch.iso20022._common import Codec
from tijarat.switch.iso20022._xml import (
    MessageType,
    XmlElement,
    add,
    check_size,
    child,
    coded_error,
    envelope_parts,
    is_envelope,
    iso_type_of_root,
    new_root,
    parse_root,
    serialize,
    validate_element,
)
from tijarat.switch.iso20022.camt import CAMT053
from tijarat.switch.iso20022.errors import Iso20022Error
from tijarat.switch.iso20022.model import (
    BankToCustomerStatement,
    CustomerCreditTransfer,
    CustomerCreditTransferInitiation,
    CustomerPaymentStatusReport,
    Message,
    PaymentReturn,
    PaymentStatusReport,
    PaymentStatusRequest,
    RequestToPay,
    RequestToPayResponse,
)
from tijarat.switch.iso20022.pacs import PACS002, PACS004, PACS008, PACS028
from tijarat.switch.iso20022.pain import PAIN001, PAIN002, PAIN013, PAIN014

if TYPE_CHECKING:
    from collections.abc import Mapping

M = TypeVar("M", bound=Message)

CODECS: Mapping[MessageType, Codec[Any]] = {
    codec.message_type: codec
    for codec in (PACS008, PACS002, PACS028, PACS004, PAIN001, PAIN002, PAIN013, PAIN014, CAMT053)
}
_CODEC_BY_MODEL: Mapping[type, Codec[Any]] = {codec.model: codec for codec in CODECS.values()}


def message_type_of(text: str) -> MessageType:
    try:
        return MessageType(text)
    except ValueError:
        raise coded_error(
            Iso20022Error.UNSUPPORTED_MESSAGE,
            f"unsupported message type; supported: {', '.join(MessageType)}",
            message_type=str(text)[:64],
        ) from None


# ---------------------------------------------------------------------------- elements


def document_element(codec: Codec[M], message: M) -> XmlElement:
    """The <Document> of `message`, not yet serialised (the envelope embeds it)."""
    if not isinstance(message, codec.model):
        raise TypeError(f"expected {codec.model.__name__}, not {type(message).__name__}")
    document = new_root(codec.message_type.namespace, "Document")
    codec.write(add(document, codec.root), message)
    return document


def read_document(codec: Codec[M], document: XmlElement) -> M:
    """The message in an XSD-valid <Document>; kernel refusals become invalid_field."""
    body = child(document, codec.root)
    assert body is not None  # the XSD requires exactly this element
    try:
        return codec.read(body)
    except DomainError as error:
        if not error.code.startswith("iso20022_"):
            # A kernel refusal that no reader located: still a field the hub cannot accept.
            error = coded_error(
                Iso20022Error.INVALID_FIELD, error.message, **error.fields, reason=error.code
            )
        error.fields.setdefault("message_type", codec.message_type.value)
        raise error from None


def codec_of_type(message_type: MessageType) -> Codec[Any]:
    codec = CODECS.get(message_type)
    if codec is None:
        raise coded_error(
            Iso20022Error.UNSUPPORTED_MESSAGE,
            f"{message_type.value} is recognised and validated, but not read by this codec",
            message_type=message_type.value,
        )
    return codec


def codec_for(message: object) -> Codec[Any]:
    codec = _CODEC_BY_MODEL.get(type(message))
    if codec is None:
        raise TypeError(f"not an ISO 20022 message: {type(message).__name__}")
    return codec


# ---------------------------------------------------------------------------- bytes


def finish(root: XmlElement, message_type: MessageType) -> bytes:
    data = serialize(root)
    check_size(len(data))
    # Our own output is checked too: a builder that drifts from the XSD fails here, loudly,
    # instead of at a participant.
    validate_element(root, message_type)
    return data


def build_with(codec: Codec[M], message: M) -> bytes:
    return finish(document_element(codec, message), codec.message_type)


def parse_with(codec: Codec[M], xml: bytes) -> M:
    root = parse_root(xml)
    if is_envelope(root):
        raise coded_error(
            Iso20022Error.WRONG_MESSAGE_TYPE,
            "this is an envelope: read it with parse_envelope",
            expected=codec.message_type.value,
        )
    actual = iso_type_of_root(root)
    if actual is not codec.message_type:
        raise coded_error(
            Iso20022Error.WRONG_MESSAGE_TYPE,
            f"expected a {codec.message_type.value}, got a {actual.value}",
            expected=codec.message_type.value,
            actual=actual.value,
        )
    validate_element(root, actual)
    return read_document(codec, root)


def build_document(message: Message) -> bytes:
    """Any supported message as a bare <Document>, valid against its XSD."""
    codec: Codec[Any] = codec_for(message)
    return build_with(codec, message)


def parse_document(xml: bytes) -> Message:
    """A bare <Document> of any supported message type, recognised by its namespace."""
    root = parse_root(xml)
    message_type = iso_type_of_root(root)
    codec = codec_of_type(message_type)
    validate_element(root, message_type)
    message: Message = read_document(codec, root)
    return message


def detect_message_type(xml: bytes) -> MessageType:
    """The message type from the root namespace: a Document's, an AppHdr's, or for an
    envelope the type of the Document inside it."""
    root = parse_root(xml)
    if is_envelope(root):
        _, document = envelope_parts(root)
        return iso_type_of_root(document)
    return iso_type_of_root(root)


def validate(xml: bytes, message_type: str | None = None) -> None:
    """Check `xml` against the official XSD of `message_type` (detected when None).

    An envelope is checked part by part: its AppHdr against head.001.001.02 and its Document
    against `message_type`. Refusals: iso20022_too_large, iso20022_malformed_xml,
    iso20022_unsupported_message, iso20022_schema_invalid (fields["errors"]: libxml2's first
    messages with line numbers).
    """
    expected = None if message_type is None else message_type_of(message_type)
    root = parse_root(xml)
    if is_envelope(root):
        header, document = envelope_parts(root)
        validate_element(header, MessageType.HEAD_001)
        validate_element(document, expected or iso_type_of_root(document))
        return
    validate_element(root, expected or iso_type_of_root(root))


# ---------------------------------------------------------------------------- per message


def build_pacs008(message: CustomerCreditTransfer) -> bytes:
    return build_with(PACS008, message)


def parse_pacs008(xml: bytes) -> CustomerCreditTransfer:
    return parse_with(PACS008, xml)


def build_pacs002(message: PaymentStatusReport) -> bytes:
    return build_with(PACS002, message)


def parse_pacs002(xml: bytes) -> PaymentStatusReport:
    return parse_with(PACS002, xml)


def build_pacs028(message: PaymentStatusRequest) -> bytes:
    return build_with(PACS028, message)


def parse_pacs028(xml: bytes) -> PaymentStatusRequest:
    return parse_with(PACS028, xml)


def build_pacs004(message: PaymentReturn) -> bytes:
    return build_with(PACS004, message)


def parse_pacs004(xml: bytes) -> PaymentReturn:
    return parse_with(PACS004, xml)


def build_pain001(message: CustomerCreditTransferInitiation) -> bytes:
    return build_with(PAIN001, message)


def parse_pain001(xml: bytes) -> CustomerCreditTransferInitiation:
    return parse_with(PAIN001, xml)


def build_pain002(message: CustomerPaymentStatusReport) -> bytes:
    return build_with(PAIN002, message)


def parse_pain002(xml: bytes) -> CustomerPaymentStatusReport:
    return parse_with(PAIN002, xml)


def build_pain013(message: RequestToPay) -> bytes:
    return build_with(PAIN013, message)


def parse_pain013(xml: bytes) -> RequestToPay:
    return parse_with(PAIN013, xml)


def build_pain014(message: RequestToPayResponse) -> bytes:
    return build_with(PAIN014, message)


def parse_pain014(xml: bytes) -> RequestToPayResponse:
    return parse_with(PAIN014, xml)


def build_camt053(message: BankToCustomerStatement) -> bytes:
    return build_with(CAMT053, message)


def parse_camt053(xml: bytes) -> BankToCustomerStatement:
    return parse_with(CAMT053, xml)
