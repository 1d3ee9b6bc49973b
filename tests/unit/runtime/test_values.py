"""Field value coercion and conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from builder.model import ChoiceOption, Field, FieldType, LocalizedText
from expressions.scope import Location
from runtime.values import ValueProblem, coerce, convert, from_row, to_json, to_row

SHANGHAI = ZoneInfo("Asia/Shanghai")


def f(kind: FieldType, **more: object) -> Field:
    return Field(key="x", type=kind, label=LocalizedText("X", "X"), **more)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (FieldType.TEXT, "门店", "门店"),
        (FieldType.MONEY, "1,234.50", Decimal("1234.50")),
        (FieldType.NUMBER, 0.1, Decimal("0.1")),
        (FieldType.INTEGER, "42", 42),
        (FieldType.BOOLEAN, True, True),
        (FieldType.DATE, "2026-11-23", date(2026, 11, 23)),
        (FieldType.DURATION, "48h", timedelta(hours=48)),
        (FieldType.DURATION, 90, timedelta(seconds=90)),
        (FieldType.LINK, 7, 7),
        (FieldType.LOCATION, {"lat": 31.2, "lng": 121.4}, Location(31.2, 121.4, None)),
        (FieldType.PHOTO, [1, 2], [1, 2]),
        (FieldType.EMAIL, "a@b.cn", "a@b.cn"),
    ],
)
def test_coerce_accepts(kind: FieldType, raw: object, expected: object) -> None:
    field = f(kind, multiple=True) if kind is FieldType.PHOTO else f(kind)
    assert coerce(field, raw, SHANGHAI) == expected


def test_naive_datetimes_are_read_in_the_workspace_zone() -> None:
    value = coerce(f(FieldType.DATETIME), "2026-11-23T09:00", SHANGHAI)
    assert value == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        (f(FieldType.INTEGER), "1.5"),
        (f(FieldType.INTEGER), True),
        (f(FieldType.NUMBER), "NaN"),
        (f(FieldType.NUMBER), "1e400"),
        (f(FieldType.NUMBER), float("inf")),
        (f(FieldType.TEXT, max_length=3), "四个汉字"),
        (f(FieldType.CHOICE, options=(ChoiceOption("a"),)), "b"),
        (f(FieldType.MULTI_CHOICE, options=(ChoiceOption("a"),)), ["a", "z"]),
        (f(FieldType.EMAIL), "not-mail"),
        (f(FieldType.URL), "javascript:alert(1)"),
        (f(FieldType.LOCATION), {"lat": 91, "lng": 0}),
        (f(FieldType.PHOTO), [1, 2]),
        (f(FieldType.RATING), 9),
        (f(FieldType.MONEY, min=Decimal(0)), "-1"),
        (f(FieldType.FORMULA, formula="1"), 3),
        (f(FieldType.DATETIME), "soon"),
    ],
)
def test_coerce_refuses_with_both_languages(field: Field, raw: object) -> None:
    with pytest.raises(ValueProblem) as info:
        coerce(field, raw, SHANGHAI)
    assert info.value.message and info.value.message_zh


def test_location_round_trips_through_three_columns() -> None:
    field = f(FieldType.LOCATION)
    row = to_row(field, Location(1.5, 2.5, 10.0))
    assert row == {"x__lat": 1.5, "x__lng": 2.5, "x__acc": 10.0}
    assert from_row(field, row) == Location(1.5, 2.5, 10.0)
    assert to_json(Location(1.5, 2.5, 10.0)) == {"lat": 1.5, "lng": 2.5, "accuracy": 10.0}


def test_json_forms_are_exact() -> None:
    assert to_json(Decimal("150000.50")) == "150000.50"
    assert to_json(Decimal("1E+2")) == "100"
    assert to_json(timedelta(hours=2)) == 7200
    assert to_json(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00+00:00"


def test_convert_between_types() -> None:
    assert convert("12", f(FieldType.TEXT), f(FieldType.INTEGER), SHANGHAI) == 12
    assert convert(3, f(FieldType.INTEGER), f(FieldType.MONEY), SHANGHAI) == Decimal(3)
    assert convert(Decimal("2.5"), f(FieldType.NUMBER), f(FieldType.TEXT), SHANGHAI) == "2.5"
    assert convert("是", f(FieldType.TEXT), f(FieldType.BOOLEAN), SHANGHAI) is True
    with pytest.raises(ValueProblem):
        convert("A-1", f(FieldType.TEXT), f(FieldType.NUMBER), SHANGHAI)
    with pytest.raises(ValueProblem):
        convert(Decimal("2.5"), f(FieldType.NUMBER), f(FieldType.INTEGER), SHANGHAI)
