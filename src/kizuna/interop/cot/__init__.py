"""Cursor on Target: the XML and TAK protobuf codec, markings in CoT attributes, the stream endpoint."""

from kizuna.interop.cot.bridge import (
    MARKING_DETAIL,
    Feed,
    Outbox,
    file_incoming,
    report_of,
    track_event,
    with_detail_marking,
)
from kizuna.interop.cot.certs import CertFiles, make_certificates
from kizuna.interop.cot.codec import (
    UNKNOWN,
    CotEvent,
    marking_attributes,
    marking_from_attributes,
    parse_proto,
    parse_xml,
    to_proto,
    to_xml,
)

__all__ = [
    "CertFiles",
    "CotEvent",
    "Feed",
    "MARKING_DETAIL",
    "Outbox",
    "UNKNOWN",
    "file_incoming",
    "make_certificates",
    "marking_attributes",
    "marking_from_attributes",
    "parse_proto",
    "parse_xml",
    "report_of",
    "to_proto",
    "to_xml",
    "track_event",
    "with_detail_marking",
]
