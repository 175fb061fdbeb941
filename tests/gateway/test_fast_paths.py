"""The gateway core's fast paths (issue 10, point 10(a)) give exactly the answers of the checks they shortcut.

Each fast path is compared with the general code it stands in for, run on the same input with the fast path
switched off: the same request, or the same refusal with the same message.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gbsmart.gateway import authorise as authorise_module
from gbsmart.gateway import duis, responses, xml
from gbsmart.gateway.authorise import RegistrationIndex
from gbsmart.gateway.errors import DuisRefused
from gbsmart.gateway.xml import DEFAULT_MAX_DEPTH, parse_xml

from .conftest import request_xml

NEVER = re.compile(r"(?!)")  # matches nothing: the fast path switched off


def outcome(call, *args, **kwargs):
    """What ``call`` answers: its result, or the refusal's type and message."""
    try:
        return call(*args, **kwargs)
    except DuisRefused as refused:
        return type(refused), refused.message


# ---------------------------------------------------------------- the RequestID in one match

HEXISH = st.from_regex(r"[0-9A-Fa-fGg:\- ]{0,70}", fullmatch=True)
ID_LIKE = st.builds(lambda a, b, c: f"{a}:{b}:{c}",
                    st.from_regex(r"[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){6,8}", fullmatch=True),
                    st.from_regex(r"[0-9A-Fa-fx]{2}(-[0-9A-Fa-f]{2}){7}", fullmatch=True),
                    st.integers(0, 2**66).map(str) | st.from_regex(r"0[0-9]{0,3}|[0-9]{19,22}|\+1|1 ", fullmatch=True))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ID_LIKE | HEXISH | st.text(max_size=60))
def test_the_one_match_request_id_answers_as_the_part_by_part_checks(monkeypatch, text):
    fast = outcome(duis.parse_request_id, text)
    with monkeypatch.context() as patch:
        patch.setattr(duis, "_WELL_FORMED_ID", NEVER)
        assert outcome(duis.parse_request_id, text) == fast


# ---------------------------------------------------------------- the depth check skipped when it cannot fail

def nested(depth: int, siblings: int, comment: bool, instruction: bool) -> bytes:
    inner = b"<x/>" * siblings + (b"<!-- c -->" if comment else b"") + (b"<?p i?>" if instruction else b"")
    return b'<?xml version="1.0"?>\n' + b"<a>" * depth + inner + b"</a>" * depth


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(1, DEFAULT_MAX_DEPTH + 3), siblings=st.integers(0, 6), comment=st.booleans(),
       instruction=st.booleans(), limit=st.integers(2, DEFAULT_MAX_DEPTH + 2))
def test_skipping_the_depth_search_never_changes_the_answer(monkeypatch, depth, siblings, comment, instruction,
                                                            limit):
    body = nested(depth, siblings, comment, instruction)
    fast = outcome(lambda: xml.etree.tostring(parse_xml(body, max_depth=limit)))
    with monkeypatch.context() as patch:
        patch.setattr(xml, "_most_elements", lambda data: 10**9)  # always search the tree
        assert outcome(lambda: xml.etree.tostring(parse_xml(body, max_depth=limit))) == fast


def test_the_element_bound_counts_every_element_of_a_plain_body():
    body = request_xml()
    root = parse_xml(body)
    assert b"<!" not in body
    assert xml._most_elements(body) >= sum(1 for _ in root.iter())
    deep = b"<a>" * (DEFAULT_MAX_DEPTH + 1) + b"</a>" * (DEFAULT_MAX_DEPTH + 1)
    with pytest.raises(xml.ForbiddenXml, match="deep"):
        parse_xml(deep)


# ---------------------------------------------------------------- Header and Body read by position

def request_with(before_header: bytes = b"", between: bytes = b"", version: str = "5.4") -> bytes:
    body = request_xml()
    body = body.replace(b"<sr:Header>", before_header + b"<sr:Header>", 1)
    body = body.replace(b"<sr:Body>", between + b"<sr:Body>", 1)
    return body.replace(b'schemaVersion="5.4"', f'schemaVersion="{version}"'.encode(), 1)


@pytest.mark.parametrize("body", [
    request_with(),
    request_with(before_header=b"<!-- a comment first -->"),
    request_with(between=b"<!-- between -->"),
    request_with(before_header=b"<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body>"),
    request_with(between=b"<sr:Header><sr:RequestID>x</sr:RequestID></sr:Header>"),
    request_with(version=" 5.40 "),
    request_with(version="5.1"),
    request_with(version="5.5"),
    request_with(version="five"),
], ids=["plain", "comment-first", "comment-between", "body-first", "two-headers", "padded-version", "5.1",
        "5.5", "not-a-number"])
def test_the_header_read_by_position_is_the_header_searched_for(monkeypatch, codec, body):
    fast = outcome(codec.parse, body)
    with monkeypatch.context() as patch:
        patch.setattr(xml, "_NORMAL_VERSIONS", {})  # the version always through Decimal
        searched = outcome(_searching_parse, codec, body)
    if isinstance(fast, duis.DuisRequest):
        assert isinstance(searched, duis.DuisRequest)
        assert {f: getattr(fast, f) for f in fast.__slots__ if f != "root"} == \
            {f: getattr(searched, f) for f in searched.__slots__ if f != "root"}
    else:
        assert searched == fast


def _searching_parse(codec: duis.DuisCodec, body: bytes) -> duis.DuisRequest:
    """``codec.parse`` with the Header and Body found by search only (the root's children hidden from position)."""
    root = parse_xml(body)

    class Searched:  # answers find() and the rest as the root does, but has no children by position
        def __init__(self, element):
            self._element = element

        def __len__(self):
            return 0

        def __getattr__(self, name):
            return getattr(self._element, name)

    class Unwrapping:
        def validate(self, searched):
            codec.schema.validate(searched._element)

    return duis.read_request(Searched(root), Unwrapping())  # type: ignore[arg-type]


# ---------------------------------------------------------------- registrations without Registration objects

def test_parties_at_answers_as_at_for_every_mpxn_and_day():
    rng = np.random.default_rng(7)
    rows = []
    for mpxn in range(1000, 1300):
        start = date(2015, 1, 1) + timedelta(days=int(rng.integers(0, 2000)))
        for _ in range(int(rng.integers(0, 4))):
            end = start + timedelta(days=int(rng.integers(1, 900))) if rng.random() < 0.7 else None
            rows.append(authorise_module.Registration(
                mpxn, authorise_module.Fuel.GAS if rng.random() < 0.5 else authorise_module.Fuel.ELECTRICITY,
                int(rng.integers(1, 9)), int(rng.integers(100, 109)), start, end))
            if end is None:
                break
            start = end + timedelta(days=int(rng.integers(0, 30)))
    index = RegistrationIndex.from_rows(rows)
    index.fuel[::17] = 9  # an unknown fuel code, read as electricity by both
    for mpxn in range(995, 1305):
        for day in (date(2014, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 4000, size=12)):
            registration = index.at(mpxn, day)
            parties = index.parties_at(mpxn, day.toordinal())
            if registration is None:
                assert parties is None
            else:
                assert parties is not None
                assert (registration.supplier_org_id, registration.network_operator_org_id) == parties[1:]
                assert registration.fuel is authorise_module._FUEL_OF[parties[0] if parties[0] in (1, 2) else 1]


# ---------------------------------------------------------------- the response's time, kept for a batch

def test_the_kept_response_time_is_the_time_written_fresh(codec):
    request = codec.parse(request_xml())

    def stamp(at: datetime) -> str:
        return responses.response(request, "I99", at)[0][3].text

    first = datetime(2026, 12, 4, 18, 0, 0, 123456, tzinfo=UTC)
    assert stamp(first) == "2026-12-04T18:00:00.123Z"
    assert stamp(first) == "2026-12-04T18:00:00.123Z"
    assert stamp(first + timedelta(milliseconds=1)) == "2026-12-04T18:00:00.124Z"
    elsewhere = (first + timedelta(milliseconds=1)).astimezone(timezone(timedelta(hours=5)))
    assert stamp(elsewhere) == "2026-12-04T18:00:00.124Z"  # the same instant: the same UTC text
    assert stamp(datetime(2027, 1, 1, tzinfo=UTC)) == "2027-01-01T00:00:00.000Z"
