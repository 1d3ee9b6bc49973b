"""Every widget type's result equals a hand-written SQL query's, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.dashboards.conftest import World


def money(value: Any) -> Decimal | None:
    """A sum as cents (SQLite's REAL sums and PostgreSQL's numeric compare equal)."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def test_number(world: World) -> None:
    result = world.dashboards().widget("board", "total")
    count, amount = world.all(f"select count(*), sum(amount) from {world.opp}")[0]
    assert result["total"]["values"]["n"] == count == 10
    assert money(result["total"]["values"]["amount"]) == money(amount)
    assert result["measures"][0] == {"key": "n", "label": "数量", "label_en": "Count", "format": "integer"}
    assert result["measures"][1]["format"] == "money"
    assert result["cached"] is False


def test_bar_by_stage(world: World) -> None:
    result = world.dashboards().widget("board", "by_stage")
    expected = world.all(
        f"select stage, count(*), sum(amount) from {world.opp} group by stage"
    )
    got = {r["cell"]["stage"]: (r["values"]["n"], money(r["values"]["amount"])) for r in result["rows"]}
    assert got == {stage: (n, money(total) if total is not None else Decimal("0.00")) for stage, n, total in expected}
    # stage order, labels in both languages
    assert [r["cell"]["stage"] for r in result["rows"]] == ["contact", "need_confirmation", "proposal", "closing"]
    assert result["rows"][2]["labels"] == {"stage": "方案"}
    assert result["rows"][2]["labels_en"] == {"stage": "Proposal"}
    assert result["dimensions"] == [{"key": "stage", "label": "阶段", "label_en": "Stage"}]


def test_record_table_top_n(world: World) -> None:
    result = world.dashboards().widget("board", "top")
    expected = world.all(
        f"select id, title from {world.opp} where amount is not null order by amount desc, id desc limit 3"
    )
    assert [(r["id"], r["title"]) for r in result["records"]] == expected
    first = result["records"][0]
    assert first["values"]["amount"] == "7000"
    assert first["labels"]["customer"] == "Beta"
    assert first["labels"]["owner"] == "Bob"
    assert first["labels"]["status"] == "赢单" and first["labels_en"]["status"] == "Won"
