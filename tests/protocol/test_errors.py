"""One pydantic error formatter (``ronde.protocol.errors``), in its two variants, used everywhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ronde.protocol.errors import dotted, format_validation_error, schema_names, validation_issues

SECRET = "EQUIPE-SECRET-7f3a"
RONDE = Path(__file__).resolve().parents[2] / "ronde"


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["a", "b"]
    depth: int = Field(ge=0, le=100)


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    badge: str = Field(pattern=r"^[a-z]+$")
    items: list[Item]

    @field_validator("badge")
    @classmethod
    def _no_x(cls, v: str) -> str:
        if "x" in v:
            raise ValueError(f"{v!r} holds an x")
        return v


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Doc.model_validate(data)
    return info.value


NAMES = schema_names([Doc])


def test_schema_names_are_the_members() -> None:
    assert {"badge", "items", "kind", "depth"} <= NAMES


def test_content_free_keeps_types_schema_names_and_bounds_only() -> None:
    exc = _error({"badge": SECRET, "items": [{"kind": SECRET, "depth": 10**9, SECRET: 1}]})
    text = format_validation_error(exc, echo_input=False, schema_names=NAMES)
    assert SECRET not in text
    assert SECRET.lower() not in text
    assert text == (
        "badge: string_pattern_mismatch; items.?.kind: literal_error; "
        "items.?.depth: less_than_equal (le=100); items.?: unexpected field"
    )


def test_content_free_limit_says_how_many_more() -> None:
    exc = _error({"badge": 1, "items": [{"kind": "c", "depth": -1}]})
    assert format_validation_error(exc, echo_input=False, schema_names=NAMES, limit=1) == "badge: string_type (+2 more)"
    assert format_validation_error(_error([]), echo_input=False, schema_names=NAMES) == "message: model_type"


def test_echo_gives_path_and_message_without_the_value_error_prefix() -> None:
    exc = _error({"badge": "box", "items": [{"kind": "a", "depth": 1}, {"kind": "a", "depth": 101}]})
    issues = validation_issues(exc, echo_input=True)
    assert [(i.where, i.what) for i in issues] == [
        ("badge", "'box' holds an x"),
        ("items[1].depth", "Input should be less than or equal to 100"),
    ]
    assert issues[1].loc == ("items", 1, "depth")
    text = format_validation_error(exc, echo_input=True, separator="\n")
    assert text == "badge: 'box' holds an x\nitems[1].depth: Input should be less than or equal to 100"


def test_echo_defaults_and_dropped_parts() -> None:
    assert format_validation_error(_error([]), echo_input=True, default_where="config").startswith("config: ")
    exc = _error({"badge": "ab", "items": [{"kind": "a", "depth": "deep"}]})
    assert validation_issues(exc, echo_input=True, drop={"items"})[0].where == "[0].depth"
    assert dotted(("gateways", 0, "id")) == "gateways[0].id"


def test_errors_of_a_request_validation_error_are_accepted() -> None:
    """FastAPI's RequestValidationError gives ``errors()`` as a list of dicts."""
    items = [{"loc": ("query", "first"), "msg": "Value error, not a date", "type": "value_error"}]
    assert format_validation_error(items, echo_input=True) == "query.first: not a date"


def test_nothing_else_formats_pydantic_errors() -> None:
    """The formatter is the only place that reads pydantic's ``msg`` or joins a location; the API's
    structured 422 body (``FieldError``) keeps pydantic's fields as they are."""
    loc_join = re.compile(r"""out \+= f"\[\{part\}\]"|\.join\(str\(p\) for p in e\[?["'.]?loc""")
    offenders = []
    for path in sorted(RONDE.rglob("*.py")):
        rel = path.relative_to(RONDE).as_posix()
        if rel == "protocol/errors.py":
            continue
        text = path.read_text(encoding="utf-8")
        if loc_join.search(text) or re.search(r"""\[["']msg["']\]""", text):
            offenders.append(rel)
    assert offenders == []
