"""Stable error codes of the ISO 20022 codec; each reaches clients as the problem's `code`."""

from __future__ import annotations

from enum import StrEnum


class Iso20022Error(StrEnum):
    TOO_LARGE = "iso20022_too_large"  # 413: input (or built output) above MESSAGE_BYTES_MAX
    MALFORMED_XML = "iso20022_malformed_xml"  # 400: not well-formed, or carries a DTD
    UNSUPPORTED_MESSAGE = "iso20022_unsupported_message"  # 422: root namespace not ours
    WRONG_MESSAGE_TYPE = "iso20022_wrong_message_type"  # 422: parse_pacs008 given a pacs.002
    SCHEMA_INVALID = "iso20022_schema_invalid"  # 422: the official XSD refuses it
    INVALID_FIELD = "iso20022_invalid_field"  # 422: valid XML, but a value we cannot accept
    HEADER_MISMATCH = "iso20022_header_mismatch"  # 422: AppHdr names another message
    INVALID_JSON = "iso20022_invalid_json"  # 422: the JSON form has the wrong shape
