"""Cursor on Target: the XML and TAK protobuf codec, markings in CoT attributes, the stream endpoint."""

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
    "CotEvent",
    "UNKNOWN",
    "marking_attributes",
    "marking_from_attributes",
    "parse_proto",
    "parse_xml",
    "to_proto",
    "to_xml",
]
