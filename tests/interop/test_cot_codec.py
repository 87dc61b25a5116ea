"""CoT golden files: public MITRE and TAK events round-trip through Kizuna and validate against the XSD.

The MITRE CoT event schema (2.0) predates TAK's marking attributes: an event with `caveat` and `rel_to`
(as PyTAK writes them) is validated against the same schema with those two optional attributes
declared beside `access` (the extension TAK made), everything else unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st

from kizuna.access import Classification, Marking
from kizuna.errors import InvalidQuery
from kizuna.interop.cot import (
    CotEvent,
    marking_attributes,
    marking_from_attributes,
    parse_proto,
    parse_xml,
    to_proto,
    to_xml,
)

GOLDEN = Path(__file__).parent / "cot_golden"
EXAMPLES = sorted(GOLDEN.glob("*.xml"))


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(GOLDEN / "Event.xsd")


@pytest.fixture(scope="module")
def tak_schema() -> xmlschema.XMLSchema:
    text = (GOLDEN / "Event.xsd").read_text(encoding="utf-8")
    extension = (
        '<xs:attribute name="caveat" type="xs:string" use="optional"/>'
        '<xs:attribute name="rel_to" type="xs:string" use="optional"/>'
    )
    anchor = '<xs:attribute name="access" type="xs:string" use="optional">'
    assert anchor in text
    return xmlschema.XMLSchema(text.replace(anchor, extension + anchor, 1))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_golden_events_round_trip_and_stay_valid(path: Path, schema: xmlschema.XMLSchema) -> None:
    event = parse_xml(path.read_bytes())
    written = to_xml(event)
    assert parse_xml(written) == event
    schema.validate(written.decode())
    assert parse_proto(to_proto(event)) == event.model_copy(
        update={"detail": parse_proto(to_proto(event)).detail}
    )


def test_the_mitre_example_reads_as_its_fields() -> None:
    event = parse_xml((GOLDEN / "mitre-globalhawk.xml").read_bytes())
    assert (event.uid, event.type, event.how, event.opex, event.qos) == (
        "GLOBALHAWK.30",
        "a-f-A-M-F-R-X",
        "m-s",
        "s-",
        "2-r-d",
    )
    assert (event.lat, event.lon, event.hae) == (8.796735, -15.365738, 19397.6)
    assert 'callsign="LONGLOOK94"' in event.detail


def test_a_marked_exercise_event_validates_with_tak_attributes(tak_schema: xmlschema.XMLSchema) -> None:
    marking = Marking.releasable(Classification.SECRET, "USA", ["JPN"], exercise=True)
    attributes = marking_attributes(marking)
    assert attributes == {"access": "SECRET", "caveat": "REL TO", "rel_to": "USA JPN"}
    now = datetime(2027, 4, 6, 5, 0, tzinfo=UTC)
    event = CotEvent(
        uid="kizuna.x.ft-1",
        type="a-h-S",
        how="m-f",
        time=now,
        start=now,
        stale=now,
        lat=25.7,
        lon=123.5,
        access=attributes["access"],
        caveat=attributes["caveat"],
        releasable_to=attributes["rel_to"],
        opex="e-taiwan-contingency",
        detail='<track course="10.0" speed="5.0"/>',
    )
    written = to_xml(event)
    tak_schema.validate(written.decode())
    back = parse_xml(written)
    assert back == event
    assert back.exercise
    assert (
        marking_from_attributes(back.access, back.caveat, back.releasable_to, owner="USA", exercise=True)
        == marking
    )
    proto = parse_proto(to_proto(event))
    assert (proto.caveat, proto.releasable_to, proto.opex, proto.access) == (
        "REL TO",
        "USA JPN",
        "e-taiwan-contingency",
        "SECRET",
    )


@given(
    st.sampled_from(list(Classification)),
    st.sets(st.sampled_from(["AUS", "JPN", "KOR", "PHL"]), max_size=3),
    st.booleans(),
    st.booleans(),
)
def test_markings_survive_the_cot_attributes(
    level: Classification, others: set[str], noforn: bool, exercise: bool
) -> None:
    marking = Marking(
        level=level,
        owner="USA",
        rel_to=frozenset() if noforn else frozenset(others),
        noforn=noforn,
        exercise=exercise,
    )
    attributes = marking_attributes(marking)
    read = marking_from_attributes(
        attributes["access"], attributes["caveat"], attributes["rel_to"], owner="USA", exercise=exercise
    )
    assert read == marking


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidQuery, match="not well-formed"):
        parse_xml(b"<event")
    with pytest.raises(InvalidQuery, match="expected <event>"):
        parse_xml(b"<point/>")
    with pytest.raises(InvalidQuery, match="missing <point>"):
        parse_xml(
            b'<event uid="a" type="a-f-G" time="2027-01-01T00:00:00Z" start="2027-01-01T00:00:00Z" '
            b'stale="2027-01-01T00:00:00Z" how="m-g"/>'
        )
    with pytest.raises(InvalidQuery, match="access"):
        marking_from_attributes("COSMIC", None, None, owner="USA", exercise=False)
    with pytest.raises(InvalidQuery, match="TAK protobuf"):
        parse_proto(b"\xbf\x01\xbf\xff\xff")
    entity = b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><event>&x;</event>'
    with pytest.raises(InvalidQuery):
        parse_xml(entity)
