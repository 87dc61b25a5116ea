"""Cursor on Target events: XML (TAK protocol version 0) and TAK Protocol version 1 (protobuf).

`CotEvent` is one event: who (`uid`, `type`), where (`point`), when (`time`, `start`, `stale`), how, and
the marking attributes — `access` (the classification), `caveat` (NOFORN or REL TO) and `rel_to` (the
nations, space-separated trigraphs; read also as `releasableTo`) — and `opex` (`e-<name>` for
exercise traffic, `o` for real operations). The `<detail>` element is kept as written, so a TAK event
round-trips unchanged.

TAK Protocol version 1 is `takproto`'s TakMessage; its CotEvent message has no fields for the caveat
and releasability, which TAK's own definition numbers 16 and 17 (`caveat`, `releaseableTo`), so those two
are written and read as raw protobuf fields beside the ones takproto knows.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kizuna.access import Classification, Marking
from kizuna.errors import InvalidQuery

#: CoT's "unknown" for heights and errors.
UNKNOWN = 9_999_999.0
#: The largest CoT message accepted (a TAK client's event is a few kilobytes).
MAX_EVENT_BYTES = 64 * 1024
_ACCESS = {level.display("USA"): level for level in Classification}


class CotEvent(BaseModel):
    """One Cursor on Target event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uid: str = Field(min_length=1, max_length=200)
    type: str = Field(pattern=r"^\w+(-\w+)*(;[^;]*)?$", max_length=100)
    how: str = Field(default="m-g", pattern=r"^\w(-\w+)*$")
    time: datetime
    start: datetime
    stale: datetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    hae: float = UNKNOWN
    ce: float = UNKNOWN
    le: float = UNKNOWN
    access: str | None = None
    caveat: str | None = None
    releasable_to: str | None = None
    opex: str | None = None
    qos: str | None = None
    version: str = "2.0"
    detail: str = Field(default="", description="The children of <detail>, as XML text.")

    @property
    def exercise(self) -> bool:
        """Tell whether the event says it is exercise traffic (`opex="e..."`)."""
        return (self.opex or "").startswith("e")


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_time(text: str | None, name: str) -> datetime:
    if not text:
        raise InvalidQuery(f"CoT event: missing {name}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidQuery(f"CoT event: {name} {text!r} is not an ISO 8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(text: str | None, name: str, default: float | None = None) -> float:
    if text is None:
        if default is None:
            raise InvalidQuery(f"CoT event: point needs {name}")
        return default
    try:
        value = float(text)
    except ValueError as error:
        raise InvalidQuery(f"CoT event: point {name}={text!r} is not a number") from error
    if not math.isfinite(value):
        raise InvalidQuery(f"CoT event: point {name}={text!r} is not finite")
    return value


def parse_xml(data: bytes | str) -> CotEvent:
    """Read one CoT XML event.

    Raises:
        InvalidQuery: Not well-formed XML, not an <event>, or a required attribute missing or invalid.
    """
    from lxml import etree

    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidQuery(f"CoT event of {len(raw)} bytes; at most {MAX_EVENT_BYTES}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(raw.strip(), parser)
    except etree.XMLSyntaxError as error:
        raise InvalidQuery(f"CoT event: not well-formed XML: {error}") from error
    if root.tag != "event":
        raise InvalidQuery(f"CoT event: the root element is <{root.tag}>, expected <event>")
    point = root.find("point")
    if point is None:
        raise InvalidQuery("CoT event: missing <point>")
    detail = root.find("detail")
    inner = ""
    if detail is not None:
        inner = "".join(etree.tostring(child, encoding="unicode") for child in detail)
    fields: dict[str, Any] = {
        "uid": root.get("uid"),
        "type": root.get("type"),
        "how": root.get("how") or "m-g",
        "time": _parse_time(root.get("time"), "time"),
        "start": _parse_time(root.get("start"), "start"),
        "stale": _parse_time(root.get("stale"), "stale"),
        "lat": _number(point.get("lat"), "lat"),
        "lon": _number(point.get("lon"), "lon"),
        "hae": _number(point.get("hae"), "hae", UNKNOWN),
        "ce": _number(point.get("ce"), "ce", UNKNOWN),
        "le": _number(point.get("le"), "le", UNKNOWN),
        "access": root.get("access"),
        "caveat": root.get("caveat"),
        "releasable_to": root.get("rel_to") or root.get("releasableTo"),
        "opex": root.get("opex"),
        "qos": root.get("qos"),
        "version": root.get("version") or "2.0",
        "detail": inner,
    }
    try:
        return CotEvent.model_validate(fields)
    except ValueError as error:
        raise InvalidQuery(f"CoT event: {error}") from error


def to_xml(event: CotEvent, *, declaration: bool = True) -> bytes:
    """Write a CoT XML event (the attributes TAK servers expect, in their usual order)."""
    from lxml import etree

    root = etree.Element("event")
    root.set("version", event.version)
    root.set("uid", event.uid)
    root.set("type", event.type)
    for name, value in (
        ("access", event.access),
        ("caveat", event.caveat),
        ("rel_to", event.releasable_to),
        ("opex", event.opex),
        ("qos", event.qos),
    ):
        if value is not None:
            root.set(name, value)
    root.set("time", _time(event.time))
    root.set("start", _time(event.start))
    root.set("stale", _time(event.stale))
    root.set("how", event.how)
    point = etree.SubElement(root, "point")
    for name in ("lat", "lon", "hae", "ce", "le"):
        point.set(name, repr(float(getattr(event, name))))
    if event.detail:
        detail = etree.fromstring(f"<detail>{event.detail}</detail>")
        root.append(detail)
    else:
        etree.SubElement(root, "detail")
    body = bytes(etree.tostring(root, encoding="UTF-8"))
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body) if declaration else body


# -- markings ------------------------------------------------------------------------------------------


def marking_attributes(marking: Marking) -> dict[str, str]:
    """Return the `access`, `caveat` and `rel_to` attributes that carry a marking.

    `access` is the classification (`SECRET`); `caveat` is `NOFORN` for a no-foreign-release marking and
    `REL TO` otherwise; `rel_to` lists the nations, the owner first.
    """
    first = [marking.owner] if marking.owner else []
    nations = [*first, *sorted(marking.rel_to - set(first))]
    return {
        "access": marking.level.display("USA"),
        "caveat": "NOFORN" if marking.noforn else "REL TO",
        "rel_to": " ".join(nations),
    }


def marking_from_attributes(
    access: str | None, caveat: str | None, releasable_to: str | None, *, owner: str, exercise: bool
) -> Marking:
    """Return the marking an incoming event claims, as the sender's nation's (`owner`).

    A missing `access` reads as UNCLASSIFIED; a missing `releasableTo` as the sender's nation only
    (nothing is released that the event does not release). `NOFORN` keeps it to the owner.

    Raises:
        InvalidQuery: `access` is not a known classification.
    """
    level_text = (access or "UNCLASSIFIED").strip().upper()
    if level_text not in _ACCESS:
        raise InvalidQuery(f"CoT access {access!r}; expected one of {', '.join(_ACCESS)}")
    nations = frozenset(n for n in (releasable_to or "").replace(",", " ").split() if n)
    noforn = (caveat or "").strip().upper() == "NOFORN"
    return Marking(
        level=_ACCESS[level_text],
        owner=owner,
        rel_to=frozenset() if noforn else nations,
        noforn=noforn,
        exercise=exercise,
    )


def stale_after(moment: datetime, seconds: float) -> datetime:
    """Return the stale time `seconds` after `moment`."""
    return moment + timedelta(seconds=seconds)


# -- TAK Protocol version 1 -------------------------------------------------------------------------------

_CAVEAT_FIELD, _RELEASABLE_FIELD = 16, 17


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string_field(number: int, text: str) -> bytes:
    data = text.encode()
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data):
            raise InvalidQuery("TAK protobuf: truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _extra_strings(data: bytes) -> dict[int, str]:
    """Return the length-delimited fields 16 and 17 of a serialized CotEvent (skipping the rest)."""
    found: dict[int, str] = {}
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, at = _read_varint(data, at)
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        elif wire == 2:
            length, at = _read_varint(data, at)
            if number in {_CAVEAT_FIELD, _RELEASABLE_FIELD}:
                found[number] = data[at : at + length].decode()
            at += length
        else:
            raise InvalidQuery(f"TAK protobuf: unsupported wire type {wire}")
    return found


def to_proto(event: CotEvent, *, stream: bool = True) -> bytes:
    """Write a TAK Protocol version 1 message (stream framing by default, else mesh)."""
    from takproto import TAKProtoVer
    from takproto.functions import msg2proto
    from takproto.proto import TakMessage

    message = TakMessage()
    cot = message.cotEvent
    cot.type, cot.uid, cot.how = event.type, event.uid, event.how
    for name in ("access", "opex", "qos"):
        value = getattr(event, name)
        if value:
            setattr(cot, name, value)
    cot.sendTime = _ms(event.time)
    cot.startTime = _ms(event.start)
    cot.staleTime = _ms(event.stale)
    cot.lat, cot.lon, cot.hae, cot.ce, cot.le = event.lat, event.lon, event.hae, event.ce, event.le
    if event.detail:
        cot.detail.xmlDetail = event.detail
    extra = b""
    if event.caveat:
        extra += _string_field(_CAVEAT_FIELD, event.caveat)
    if event.releasable_to:
        extra += _string_field(_RELEASABLE_FIELD, event.releasable_to)
    if extra:
        cot.ParseFromString(cot.SerializeToString() + extra)  # kept as unknown fields
    return bytes(msg2proto(message, TAKProtoVer.STREAM if stream else TAKProtoVer.MESH))


def parse_proto(data: bytes) -> CotEvent:
    """Read a TAK Protocol version 1 message (stream or mesh framing).

    Raises:
        InvalidQuery: Not a TAK protobuf message, or its event is invalid.
    """
    from google.protobuf.message import DecodeError
    from takproto import parse_proto as takproto_parse

    try:
        message = takproto_parse(bytearray(data))
    except (DecodeError, IndexError, ValueError) as error:
        raise InvalidQuery(f"TAK protobuf: cannot decode: {error}") from error
    if message is None or not message.HasField("cotEvent"):
        raise InvalidQuery("TAK protobuf: no CoT event in the message")
    cot = message.cotEvent
    extra = _extra_strings(cot.SerializeToString())
    try:
        return CotEvent(
            uid=cot.uid,
            type=cot.type,
            how=cot.how or "m-g",
            time=_from_ms(cot.sendTime),
            start=_from_ms(cot.startTime),
            stale=_from_ms(cot.staleTime),
            lat=cot.lat,
            lon=cot.lon,
            hae=cot.hae,
            ce=cot.ce,
            le=cot.le,
            access=cot.access or None,
            caveat=extra.get(_CAVEAT_FIELD),
            releasable_to=extra.get(_RELEASABLE_FIELD),
            opex=cot.opex or None,
            qos=cot.qos or None,
            detail=_detail_xml(cot.detail),
        )
    except ValueError as error:
        raise InvalidQuery(f"TAK protobuf: invalid event: {error}") from error


def _detail_xml(detail: Any) -> str:
    """Rebuild the detail's XML from the typed fields takproto splits out, and xmlDetail."""
    from xml.sax.saxutils import quoteattr

    parts: list[str] = []
    if detail.HasField("contact"):
        attrs = "".join(
            f" {k}={quoteattr(v)}"
            for k, v in (("endpoint", detail.contact.endpoint), ("callsign", detail.contact.callsign))
            if v
        )
        parts.append(f"<contact{attrs}/>")
    if detail.HasField("group"):
        parts.append(f"<__group name={quoteattr(detail.group.name)} role={quoteattr(detail.group.role)}/>")
    if detail.HasField("track"):
        parts.append(f'<track course="{detail.track.course!r}" speed="{detail.track.speed!r}"/>')
    return "".join(parts) + (detail.xmlDetail or "")


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
