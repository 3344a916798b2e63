import math

import pytest
from pydantic import BaseModel, ValidationError

from simharness.units import Duration, Rate, format_duration, parse_duration, parse_rate


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        (0, 0.0),
        ("90", 90.0),
        ("90s", 90.0),
        ("1.5s", 1.5),
        ("500ms", 0.5),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("5 m", 300.0),
        (" 2h ", 7200.0),
        (".5s", 0.5),
        ("1e3ms", 1.0),
    ],
)
def test_parse_duration(value, seconds):
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["soon", "", "5 minutes", "1h30m", "s", None, [1], True])
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert str(info.value) == f"expected a duration like '90s', '5m', '1h', got {value!r}"


def test_duration_error_message_is_exact():
    with pytest.raises(ValueError) as info:
        parse_duration("soon")
    assert str(info.value) == "expected a duration like '90s', '5m', '1h', got 'soon'"


@pytest.mark.parametrize("value", [-1, -0.5, "-5s", "-1h"])
def test_negative_duration_is_an_error(value):
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_duration(value)


@pytest.mark.parametrize("value", [math.inf, math.nan, "inf", "nan"])
def test_non_finite_duration_is_an_error(value):
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "per_second"),
    [
        ("2/s", 2.0),
        ("120/m", 2.0),
        ("100/h", 100 / 3600),
        ("2400/d", 2400 / 86400),
        ("0.5/s", 0.5),
        ("3 / m", 0.05),
        (2, 2.0),
        (0.25, 0.25),
        ("2", 2.0),
        (0, 0.0),
    ],
)
def test_parse_rate(value, per_second):
    assert parse_rate(value) == pytest.approx(per_second)


@pytest.mark.parametrize("value", ["fast", "2/week", "2 per s", "/s", "5m", None, False])
def test_parse_rate_rejects(value):
    with pytest.raises(ValueError) as info:
        parse_rate(value)
    assert str(info.value) == f"expected a rate like '2/s', got {value!r}"


def test_negative_rate_is_an_error():
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_rate("-2/s")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (3600, "1h"),
        (300, "5m"),
        (90, "90s"),
        (1.5, "1.5s"),
        (0.5, "500ms"),
        (86400, "1d"),
        (5400, "90m"),
        (0, "0s"),
        (math.inf, "inf"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.001, 0.25, 1.5, 59, 61, 3599, 7200, 12345.678, 1e-7])
def test_format_duration_round_trips(seconds):
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


class _Holder(BaseModel):
    wait: Duration
    rate: Rate


def test_annotated_types_validate_in_pydantic():
    held = _Holder(wait="5m", rate="120/m")
    assert held.wait == 300.0
    assert held.rate == 2.0


def test_annotated_types_report_the_message():
    with pytest.raises(ValidationError) as info:
        _Holder(wait="soon", rate="fast")
    messages = [e["msg"] for e in info.value.errors()]
    assert messages == [
        "Value error, expected a duration like '90s', '5m', '1h', got 'soon'",
        "Value error, expected a rate like '2/s', got 'fast'",
    ]


def test_json_schema_documents_string_forms():
    schema = _Holder.model_json_schema()["properties"]
    assert {"type": "number", "minimum": 0} in schema["wait"]["anyOf"]
    assert "2/s" in schema["rate"]["examples"]
