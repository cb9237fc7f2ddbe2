"""French formats (issue 16, point 5): what a person reads, never ISO, English when asked."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ronde.protocol.formats import (
    NNBSP,
    date_long,
    date_short,
    decimal,
    duration,
    local_moment,
    number,
    parse_date,
    percent,
    time_hm,
)

PARIS = ZoneInfo("Europe/Paris")


def test_dates_in_french_and_english() -> None:
    assert date_long(date(2026, 12, 3)) == "jeudi 3 décembre 2026"
    assert date_long(date(2026, 12, 3), "en") == "Thursday 3 December 2026"
    assert date_short(date(2026, 12, 3)) == "03/12/2026"
    assert date_short(date(2026, 12, 3), "en") == "3 Dec 2026"


def test_times_numbers_and_shares() -> None:
    assert time_hm(time(21, 15)) == "21 h 15"
    assert time_hm(time(9, 5), "en") == "09:05"
    assert number(1234567) == f"1{NNBSP}234{NNBSP}567"
    assert number(1234567, "en") == "1,234,567"
    assert decimal(1234.56, 1) == f"1{NNBSP}234,6"
    assert decimal(0.25, 2, "en") == "0.25"
    assert percent(0.4953) == f"49,5{NNBSP}%"
    assert percent(0.4953, "en") == "49.5%"
    assert percent(None) == "–"
    assert duration(3 * 3600 + 5 * 60) == "3 h 05"
    assert duration(600, "en") == "10 min"


def test_local_moment_names_the_date_when_not_today() -> None:
    # 21:14 UTC on 3 December is 22 h 14 in Paris
    at = datetime(2026, 12, 3, 21, 14, tzinfo=UTC)
    assert local_moment(at, PARIS, date(2026, 12, 3)) == "22 h 14"
    assert local_moment(at, PARIS, date(2026, 12, 4)) == "03/12/2026 à 22 h 14"
    assert local_moment(at, PARIS, date(2026, 12, 4), "en") == "3 Dec 2026 22:14"
    assert local_moment(None, PARIS, date(2026, 12, 4)) == "–"


def test_parse_date_accepts_what_people_and_machines_write() -> None:
    assert parse_date("03/12/2026") == date(2026, 12, 3)
    assert parse_date(" 3/12/2026 ") == date(2026, 12, 3)
    assert parse_date("2026-12-03") == date(2026, 12, 3)


@pytest.mark.parametrize("text", ["", "31/02/2026", "12-03-2026", "2026/12/03", "x" * 5000, "03/12/26", "١٢/٠٣/٢٠٢٦"])
def test_parse_date_refuses_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match=r"date|day"):
        parse_date(text)
