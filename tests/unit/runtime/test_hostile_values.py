"""Coercion edge cases an attacker reaches for: each is a ValueProblem, never a crash later."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from builder.model import Field, FieldType, LocalizedText
from runtime.values import (
    AUDIT_SUMMARY_CHARS,
    AUDIT_VALUE_CHARS,
    MAX_MOMENT,
    MIN_MOMENT,
    ValueProblem,
    audit_summary,
    coerce,
    storable_text,
    text_problem,
)

KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
BAKER = ZoneInfo("Etc/GMT+12")  # UTC-12


def f(kind: FieldType) -> Field:
    return Field(key="x", type=kind, label=LocalizedText("X", "X"))


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (FieldType.TEXT, "a\x00b"),
        (FieldType.LONG_TEXT, "\x00"),
        (FieldType.EMAIL, "a\x00@b.cn"),
        (FieldType.TEXT, "x\ud800"),
        (FieldType.TEXT, "\udfff"),
        (FieldType.CHOICE, "\x00"),
        (FieldType.NUMBER, float("nan")),
        (FieldType.NUMBER, "NaN"),
        (FieldType.MONEY, float("inf")),
        (FieldType.MONEY, "Infinity"),
        (FieldType.PERCENT, float("-inf")),
        (FieldType.PERCENT, "-1e999999"),
        (FieldType.INTEGER, 1e308),
        (FieldType.INTEGER, "1e999999"),
        (FieldType.INTEGER, 2**63),
        (FieldType.NUMBER, Decimal("sNaN")),
        (FieldType.DATETIME, "9999-12-31T23:59:59-12:00"),
        (FieldType.DATETIME, "0001-01-01T00:00:00+14:00"),
        (FieldType.DATETIME, "9999-12-31T23:59:59+00:00"),
        (FieldType.DATETIME, "0001-01-01T00:00:00Z"),
        (FieldType.DATETIME, datetime(9999, 12, 31, 23, 0, tzinfo=BAKER)),
        (FieldType.DURATION, "99999999999999999d"),
        (FieldType.DURATION, "9" * 400 + "w"),
        (FieldType.DURATION, 1e308),
        (FieldType.DURATION, float("nan")),
        (FieldType.DURATION, 10**10 + 1),
    ],
)
def test_coerce_refuses_hostile_values(kind: FieldType, raw: object) -> None:
    with pytest.raises(ValueProblem) as problem:
        coerce(f(kind), raw, UTC)
    assert problem.value.message and problem.value.message_zh != problem.value.message


def test_naive_datetimes_overflowing_in_the_workspace_zone_are_refused() -> None:
    with pytest.raises(ValueProblem):
        coerce(f(FieldType.DATETIME), "0001-01-01T03:00", KIRITIMATI)
    with pytest.raises(ValueProblem):
        coerce(f(FieldType.DATETIME), "9999-12-31T20:00", BAKER)


def test_moments_at_the_edges_of_the_range_are_kept_and_show_in_every_zone() -> None:
    for raw in ("0001-01-02T00:00:00Z", "9999-12-30T23:59:59Z"):
        moment = coerce(f(FieldType.DATETIME), raw, UTC)
        assert MIN_MOMENT <= moment <= MAX_MOMENT
        moment.astimezone(KIRITIMATI)
        moment.astimezone(BAKER)


def test_durations_up_to_the_limit_are_kept() -> None:
    assert coerce(f(FieldType.DURATION), "115740d", UTC) == timedelta(days=115740)
    assert coerce(f(FieldType.DURATION), 10**10, UTC) == timedelta(seconds=10**10)


def test_text_problem_names_what_is_wrong() -> None:
    assert text_problem("正常的文本 \t\n") is None
    nul = text_problem("a\x00")
    surrogate = text_problem("\ud83d")
    assert nul and "NUL" in nul[0] and "空字符" in nul[1]
    assert surrogate and "surrogate" in surrogate[0]
    assert text_problem("😀") is None  # a proper pair is fine


def test_storable_text_cuts_and_cleans() -> None:
    assert storable_text("abc", 10) == "abc"
    cut = storable_text("x" * 50, 10)
    assert len(cut) == 10 and cut.endswith("…")
    assert storable_text("a\x00b\ud800", 10) == "a\ufffdb\ufffd"


def test_audit_summary_is_bounded_and_storable() -> None:
    sent = {
        "name": "长" * 1_000_000,
        "score": float("nan"),
        "qty": float("inf"),
        "bad\x00key": "v\ud800",
        "nested": {"deep": [float("nan")] * 10, "nul\x00": ["\x00", "\ud800", 10**30]},
        "huge": 10**40,
        "few": [1, 2, 3],
        **{f"k{i}": "v" * 300 for i in range(10_000)},
    }
    summary = audit_summary(sent)
    text = json.dumps(summary, allow_nan=False, ensure_ascii=False)
    assert len(text) < AUDIT_SUMMARY_CHARS + 2 * AUDIT_VALUE_CHARS + 500
    assert "\x00" not in text and "\\ud800" not in json.dumps(summary)
    assert len(summary["name"]) == AUDIT_VALUE_CHARS and summary["name"].endswith("…")
    assert summary["score"] == "nan" and summary["qty"] == "inf"
    assert summary["bad\ufffdkey"] == "v\ufffd"
    assert summary["nested"] == {"deep": ["nan"] * 10, "nul\ufffd": ["\ufffd", "\ufffd", "<100-bit integer>"]}
    assert summary["few"] == [1, 2, 3] and isinstance(summary["huge"], str)
    assert summary["…"].startswith(str(len(sent) - len(summary) + 1))


def test_audit_summary_of_a_non_object() -> None:
    assert audit_summary(["not", "an", "object"]) == {"…": "list"}
