"""The write path's JSON copies: audit changes and outbox payloads take a fast path for
values already in JSON form and give exactly what the general conversion gives."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest

from expressions.scope import Location
from runtime.automation.outbox import jsonable
from runtime.records import _json_copy


def _round_trip(changes: dict[str, Any]) -> Any:
    return json.loads(json.dumps(changes, default=str))


def test_plain_changes_are_copied_not_shared() -> None:
    changes = {"name": [None, "大单"], "qty": [None, 3], "ok": [False, True], "x": [1.5, None]}
    copy = _json_copy(changes)
    assert copy == changes == _round_trip(changes)
    copy["name"][1] = "changed"
    assert changes["name"][1] == "大单"


@pytest.mark.parametrize(
    "changes",
    [
        {"price": [None, Decimal("10.50")]},
        {"at": [None, datetime(2026, 1, 2, 3, 4, tzinfo=UTC)]},
        {"day": [date(2026, 1, 2), None]},
        {"nested": [None, {"a": [1, Decimal("2")]}]},
        {"tags": [None, ["a", "b"]]},
        {"reopened": "quote"},
        {"step": {"done": True}},
    ],
)
def test_other_changes_get_the_json_round_trip(changes: dict[str, Any]) -> None:
    assert _json_copy(changes) == _round_trip(changes)


class Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"change": "created", "actor_id": 3, "changed": ["a", "b"]}, {"change": "created", "actor_id": 3, "changed": ["a", "b"]}),
        ({1: Decimal("2.50"), "at": datetime(2026, 1, 2, tzinfo=UTC)}, {"1": "2.50", "at": "2026-01-02T00:00:00+00:00"}),
        ([Location(1.0, 2.0, None), (1, 2), {3}], [{"lat": 1.0, "lng": 2.0, "accuracy": None}, [1, 2], [3]]),
        (Colour.RED, "red"),
        (True, True),
        (None, None),
    ],
)
def test_jsonable_fast_path_gives_the_same_result(value: Any, expected: Any) -> None:
    assert jsonable(value) == expected
    assert json.loads(json.dumps(jsonable(value))) == expected
