"""Line-protocol encoding: escaping rules (checked against influxd 1.6.7's parser, for real,
in the property test at the end)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronde.store.lineprotocol import LineChunks, LineProtocolError, encode_line, escape_tag, format_field, join_lines
from tests.support.services import Influxd


def test_tags_fields_and_timestamp() -> None:
    line = encode_line(
        "visit",
        {"landlord": "Paris Habitat", "checkpoint": "a,b=c", "building": None},
        {"badge": 'say "hi" \\', "seq": 7, "rssi_mean": -71.0, "ok": True, "gone": None},
        123,
    )
    assert (
        line == 'visit,checkpoint=a\\,b\\=c,landlord=Paris\\ Habitat badge="say \\"hi\\" \\\\",seq=7i,'
        "rssi_mean=-71.0,ok=true 123"
    )


def test_empty_tags_are_omitted_and_a_point_needs_a_field() -> None:
    assert encode_line("m", {"t": ""}, {"f": 1.5}, 1) == "m f=1.5 1"
    with pytest.raises(LineProtocolError, match="no field"):
        encode_line("m", {"t": "x"}, {"f": None}, 1)


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "end\\", "a\\ b", "a\\,b", "a\\=b"])
def test_tag_values_line_protocol_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(LineProtocolError):
        escape_tag(bad)


def test_backslash_elsewhere_in_a_tag_is_literal() -> None:
    assert escape_tag("back\\slash x") == "back\\slash\\ x"


def test_field_formats() -> None:
    assert format_field(False) == "false"
    assert format_field(2**53) == "9007199254740992i"
    assert format_field(0.1) == "0.1"
    assert format_field("line1\nline2") == '"line1\nline2"'
    for bad in (float("nan"), float("inf")):
        with pytest.raises(LineProtocolError):
            format_field(bad)


def test_join_lines_ends_with_newline() -> None:
    assert join_lines(["a f=1i 1", "a f=2i 2"]) == b"a f=1i 1\na f=2i 2\n"


@pytest.mark.parametrize("n", [0, 1, 7, 63, 64, 65, 1000])
@pytest.mark.parametrize("per_chunk", [1, 7, 64])
def test_line_chunks_are_join_lines_in_pieces_and_iterate_again(n: int, per_chunk: int) -> None:
    lines = [encode_line("m", {"t": f"é{i}"}, {"s": "x" * (i % 13)}, i) for i in range(n)]
    chunks = LineChunks(lines, per_chunk)
    pieces = list(chunks)
    assert len(pieces) == -(-n // per_chunk)
    assert all(p.endswith(b"\n") for p in pieces)
    assert bytes(chunks) == b"".join(pieces) == (join_lines(lines) if n else b"")
    assert list(chunks) == pieces, "a retry sends the same body again"


def test_line_chunks_refuse_a_lone_surrogate_before_sending_anything() -> None:
    with pytest.raises(UnicodeEncodeError):
        LineChunks(['m s="ok" 1', 'm s="\ud800" 2'])


_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(list(" ,=\"'\\\t\n")), min_size=1, max_size=20
)


def _representable(tag: str) -> bool:
    try:
        escape_tag(tag)
    except LineProtocolError:
        return False
    return True


@pytest.mark.influx
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tag=_TEXT.filter(_representable), text=_TEXT)
def test_what_we_encode_is_what_influxd_stores(influxd: Influxd, tag: str, text: str) -> None:
    db = f"lp_{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=influxd.url) as http:
        http.post("/query", data={"q": f'CREATE DATABASE "{db}"'})
        r = http.post(
            "/write",
            params={"db": db, "precision": "ns"},
            content=join_lines([encode_line("m", {"t": tag}, {"s": text}, 1_700_000_000_000_000_000)]),
        )
        assert r.status_code == 204, r.text
        rows = http.get("/query", params={"db": db, "q": "SELECT * FROM m"}).json()
        http.post("/query", data={"q": f'DROP DATABASE "{db}"'})
    (row,) = rows["results"][0]["series"][0]["values"]
    assert row[1:] == [text, tag]
