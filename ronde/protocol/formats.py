"""How dates, times and numbers read to a person: French first, English when asked.

One module for the pages, the CSV headers meant for people and the PDFs (it lives in ``protocol``
so audit, below the API, can use it too). French typography: ``jeudi 3 décembre 2026``,
``03/12/2026``, ``21 h 15``, a decimal comma and a narrow no-break space between thousands
(U+202F, the space French typesetting puts there, which never breaks a figure across lines).
Machine formats (ISO dates in URLs, JSON, manifests) stay ISO: these are for eyes only.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from typing import Literal

Lang = Literal["fr", "en"]

NNBSP = "\u202f"  # narrow no-break space: thousands separator and before "%" in French

MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def date_long(day: date, lang: Lang = "fr") -> str:
    """``jeudi 3 décembre 2026`` / ``Thursday 3 December 2026`` (no locale: the host's is not ours)."""
    if lang == "fr":
        return f"{DAYS_FR[day.weekday()]} {day.day} {MONTHS_FR[day.month - 1]} {day.year}"
    return f"{DAYS_EN[day.weekday()]} {day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def date_short(day: date, lang: Lang = "fr") -> str:
    """``03/12/2026`` in French; ``3 Dec 2026`` in English (a numeric date would read month-first)."""
    if lang == "fr":
        return f"{day:%d/%m/%Y}"
    return f"{day.day} {MONTHS_EN[day.month - 1][:3]} {day.year}"


def time_hm(moment: time | datetime, lang: Lang = "fr") -> str:
    """``21 h 15`` in French, ``21:15`` in English (24-hour both: service ends at 22 h 15)."""
    if lang == "fr":
        return f"{moment.hour} h {moment.minute:02d}"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def local_moment(instant: datetime | None, tz: tzinfo, today: date, lang: Lang = "fr") -> str:
    """An instant as local time, with its date in front when it is not ``today``: a check-in at
    "22 h 14" read the next afternoon would otherwise pass for tonight's."""
    if instant is None:
        return "–"
    local = instant.astimezone(tz)
    hm = time_hm(local, lang)
    if local.date() == today:
        return hm
    return f"{date_short(local.date(), lang)} {'à ' if lang == 'fr' else ''}{hm}"


def number(n: int, lang: Lang = "fr") -> str:
    """Digits grouped by thousands: a narrow no-break space in French, a comma in English."""
    text = f"{n:,}"
    return text.replace(",", NNBSP) if lang == "fr" else text


def decimal(x: float, digits: int = 1, lang: Lang = "fr") -> str:
    """``1 234,5`` in French, ``1,234.5`` in English."""
    text = f"{x:,.{digits}f}"
    if lang == "fr":
        return text.replace(",", NNBSP).replace(".", ",")
    return text


def percent(value: float | None, lang: Lang = "fr", digits: int = 1) -> str:
    """A share 0..1 as ``45,3 %`` (narrow no-break space before the sign in French) or ``45.3%``."""
    if value is None:
        return "–"
    text = decimal(value * 100, digits, lang)
    return f"{text}{NNBSP}%" if lang == "fr" else f"{text}%"


def duration(seconds: float | None, lang: Lang = "fr") -> str:
    """``1 h 05`` / ``1h05``, or ``12 min`` under an hour (rounded to the minute)."""
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    h, m = divmod(minutes, 60)
    if h:
        return f"{number(h, lang)} h {m:02d}" if lang == "fr" else f"{h}h{m:02d}"
    return f"{m} min"


_FR_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
MAX_DATE_TEXT = 32


def parse_date(text: str) -> date:
    """A date typed by a person (``03/12/2026``) or sent by a machine (``2026-12-03``).

    Raises ``ValueError`` with a message a person can act on: anything else is refused, never
    guessed (``12/03/2026`` is the 12th of March, as a French reader means it)."""
    value = text.strip()
    if len(value) > MAX_DATE_TEXT:
        raise ValueError("date too long: expected dd/mm/yyyy")
    if m := _FR_DATE.fullmatch(value):
        d, mo, y = (int(g) for g in m.groups())
    elif m := _ISO_DATE.fullmatch(value):
        y, mo, d = (int(g) for g in m.groups())
    else:
        raise ValueError(f"not a date: {value[:MAX_DATE_TEXT]!r} (expected dd/mm/yyyy)")
    try:
        return date(y, mo, d)
    except ValueError as exc:
        raise ValueError(f"no such day: {value!r} ({exc})") from None
