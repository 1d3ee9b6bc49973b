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


# --------------------------------------------------------------------------- helpers


def local(world: World, column: str, unit: str) -> str:
    """Hand-written SQL: the first local date (Asia/Shanghai, UTC+8 all year) of ``unit``."""
    if world.dialect == "postgresql":
        shifted = f"(({column} at time zone 'UTC') at time zone 'Asia/Shanghai')"
        return f"cast(date_trunc('{unit}', {shifted}) as date)"
    shifted = f"datetime({column}, '+8 hours')"
    if unit == "day":
        return f"date({shifted})"
    if unit == "week":
        return f"date({shifted}, '-6 days', 'weekday 1')"
    month = f"cast(strftime('%m', {shifted}) as integer)"
    return f"strftime('%Y', {shifted}) || '-' || printf('%02d', (({month} - 1) / 3) * 3 + 1) || '-01'"


def rows_by_cell(result: dict[str, Any], measure: str = "n") -> dict[tuple[str, ...], Any]:
    keys = [d["key"] for d in result["dimensions"]]
    return {tuple(r["cell"][k] for k in keys): r["values"][measure] for r in result["rows"]}


def text(value: Any) -> str:
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- every type


def test_number_with_compare_is_this_week_against_last_week(world: World) -> None:
    result = world.dashboards().widget("board", "this_week")
    # today is Tuesday 2026-11-24 in Shanghai: the week began Monday 00:00 local = Sunday 16:00 UTC
    current = world.all(
        f"select count(*), sum(amount) from {world.opp} "
        "where created_at >= '2026-11-22 16:00:00' and created_at < '2026-11-29 16:00:00'"
    )[0]
    previous = world.all(
        f"select count(*), sum(amount) from {world.opp} "
        "where created_at >= '2026-11-15 16:00:00' and created_at < '2026-11-22 16:00:00'"
    )[0]
    total = result["total"]
    assert total["values"]["n"] == current[0] and total["previous"]["n"] == previous[0]
    assert money(total["values"]["amount"]) == money(current[1])
    assert money(total["previous"]["amount"]) == money(previous[1])
    assert current[0] > 0 and previous[0] > 0
    assert abs(total["delta"]["n"] - (current[0] - previous[0]) / previous[0]) < 1e-9


def test_line_by_week_with_a_series_through_a_link(world: World) -> None:
    result = world.dashboards().widget("board", "weekly")
    week = local(world, "o.created_at", "week")
    expected = world.all(
        f"select {week}, c.region, count(*) from {world.opp} o left join {world.cust} c on c.id = o.customer "
        f"group by {week}, c.region"
    )
    assert rows_by_cell(result) == {(text(w), text(r)): n for w, r, n in expected}
    assert len(expected) >= 4
    labelled = next(r for r in result["rows"] if r["cell"]["region"] == "east")
    assert labelled["labels"]["region"] == "华东" and labelled["labels_en"]["region"] == "East"
    assert labelled["labels_en"]["week"].startswith("Week of ")


def test_area_by_local_day(world: World) -> None:
    result = world.dashboards().widget("board", "daily")
    day = local(world, "created_at", "day")
    expected = world.all(f"select {day}, count(*), sum(amount) from {world.opp} group by {day}")
    assert rows_by_cell(result) == {(text(d),): n for d, n, _a in expected}
    amounts = rows_by_cell(result, "amount")
    assert {k: money(v) for k, v in amounts.items()} == {
        (text(d),): money(a) if a is not None else Decimal("0.00") for d, _n, a in expected
    }
    # 23:30 UTC on the 22nd is the 23rd in Shanghai: days are local
    assert [r["cell"]["day"] for r in result["rows"]] == sorted(r["cell"]["day"] for r in result["rows"])


def test_pie_sorted_by_measure(world: World) -> None:
    result = world.dashboards().widget("board", "status")
    expected = world.all(f"select status, count(*) from {world.opp} group by status order by count(*) desc, status")
    assert [(r["cell"]["status"], r["values"]["n"]) for r in result["rows"]] == [(s, n) for s, n in expected]
    assert {r["cell"]["status"]: r["labels"]["status"] for r in result["rows"]}["overdue"] == "逾期"


def test_heatmap_region_by_stage(world: World) -> None:
    result = world.dashboards().widget("board", "region_stage")
    expected = world.all(
        f"select c.region, o.stage, count(*) from {world.opp} o left join {world.cust} c on c.id = o.customer "
        "group by c.region, o.stage"
    )
    assert rows_by_cell(result) == {(text(r), s): n for r, s, n in expected}
    assert ("", "contact") in rows_by_cell(result)  # o7 has no customer


def test_funnel_over_stage_history(world: World) -> None:
    result = world.dashboards().widget("board", "funnel")
    stages = ["contact", "need_confirmation", "proposal", "closing"]
    expected = []
    for i in range(len(stages)):
        later = ", ".join(f"'{s}'" for s in stages[i:])
        expected.append(world.scalar(
            "select count(distinct record_id) from stage_history "
            f"where app_id = :app and entity_key = 'opportunity' and stage in ({later})",
            app=world.app.app_id,
        ))
    assert [s["count"] for s in result["stages"]] == expected == [10, 8, 6, 3]
    assert [s["stage"] for s in result["stages"]] == stages
    assert result["stages"][2]["label"] == "方案" and result["stages"][2]["label_en"] == "Proposal"
    assert result["stages"][0]["conversion"] == 1
    assert abs(result["stages"][3]["conversion"] - 3 / 10) < 1e-9


def test_map_points_with_categories(world: World) -> None:
    result = world.dashboards().widget("board", "map")
    expected = world.all(
        f"select id, name, location__lat, location__lng, kind from {world.cust} "
        "where location__lat is not null and location__lng is not null order by id desc"
    )
    assert [(p["id"], p["title"], p["lat"], p["lng"], p["category"]) for p in result["points"]] == expected
    beta = next(p for p in result["points"] if p["title"] == "Beta")
    assert beta["category_label"] == "竞品门店" and beta["category_label_en"] == "Competitor outlet"


def test_sentence_in_both_languages(world: World) -> None:
    result = world.dashboards().widget("board", "story")
    proposal = world.scalar(f"select count(*) from {world.opp} where stage = 'proposal'")
    risky = world.scalar(f"select count(*) from {world.opp} where status = 'overdue'")
    expected = world.scalar(f"select sum(amount) from {world.opp} where stage = 'proposal'")
    assert result["total"]["values"]["proposal"] == proposal == 3
    assert result["total"]["values"]["risky"] == risky
    assert money(result["total"]["values"]["expected"]) == money(expected)
    assert result["sentence"] == f"{proposal} 个商机处于方案阶段,预计金额 ¥{Decimal(str(expected)):,.2f},{risky} 个逾期"
    assert result["sentence_en"] == (
        f"{proposal} opportunities in proposal, {Decimal(str(expected)):,.2f} expected, {risky} overdue"
    )


def test_grouped_table_with_every_measure(world: World) -> None:
    result = world.dashboards().widget("board", "by_owner")
    expected = world.all(
        "select owner, count(*), count(distinct customer), avg(amount), max(quantity), min(amount), "
        f"sum(case when won then 1 else 0 end) from {world.opp} group by owner order by count(*) desc, owner"
    )
    entered = (
        "exists (select 1 from stage_history h where h.record_id = o.id and h.app_id = :app "
        "and h.entity_key = 'opportunity' and h.stage = 'need_confirmation')"
    )
    converted = (
        "exists (select 1 from stage_history a join stage_history b on b.record_id = a.record_id "
        "and b.app_id = a.app_id and b.entity_key = a.entity_key "
        "where a.record_id = o.id and a.app_id = :app and a.entity_key = 'opportunity' "
        "and a.stage = 'need_confirmation' and b.stage = 'proposal' and b.entered_at >= a.entered_at)"
    )
    conversions = dict(
        (owner, (conv, ent)) for owner, conv, ent in world.all(
            f"select owner, sum(case when {converted} then 1 else 0 end), sum(case when {entered} then 1 else 0 end) "
            f"from {world.opp} o group by owner",
            app=world.app.app_id,
        )
    )
    names = {u.id: u.name for u in world.reps.values()}
    assert len(result["rows"]) == len(expected) == 2
    for row, (owner, n, customers, avg_amount, max_quantity, min_amount, won) in zip(result["rows"], expected, strict=True):
        values = row["values"]
        assert row["cell"] == {"owner": str(owner)} and row["labels"] == {"owner": names[owner]}
        assert (values["n"], values["customers"], values["max_quantity"], values["won"]) == (n, customers, max_quantity, won)
        assert money(values["avg_amount"]) == money(avg_amount)
        assert money(values["min_amount"]) == money(min_amount)
        assert abs(values["win_rate"] - won / n) < 1e-9
        conv, ent = conversions[owner]
        assert abs(values["conv"] - conv / ent) < 1e-9
    formats = {m["key"]: m["format"] for m in result["measures"]}
    assert formats == {"n": "integer", "customers": "integer", "avg_amount": "money", "max_quantity": "integer",
                       "min_amount": "money", "won": "integer", "win_rate": "percent", "conv": "percent"}


def test_date_field_by_month_and_datetime_by_quarter(world: World) -> None:
    result = world.dashboards().widget("board", "closing")
    month = (
        "cast(date_trunc('month', cast(closing_on as timestamp)) as date)"
        if world.dialect == "postgresql" else "strftime('%Y-%m-01', closing_on)"
    )
    expected = world.all(f"select {month}, count(*) from {world.opp} group by {month}")
    assert rows_by_cell(result) == {(text(m),): n for m, n in expected}
    assert len(expected) >= 2
    result = world.dashboards().widget("board", "quarters")
    quarter = local(world, "created_at", "quarter")
    expected = world.all(f"select {quarter}, count(*) from {world.opp} group by {quarter}")
    assert rows_by_cell(result) == {(text(q),): n for q, n in expected}
    assert result["rows"][0]["labels_en"]["quarter"] == "2026 Q4"


def test_link_dimension_and_filter(world: World) -> None:
    result = world.dashboards().widget("board", "by_customer")
    expected = world.all(
        f"select c.id, c.name, count(*) from {world.opp} o left join {world.cust} c on c.id = o.customer "
        "where o.amount > 100 group by c.id, c.name"
    )
    assert rows_by_cell(result) == {(text(i),): n for i, _name, n in expected}
    assert {r["cell"]["customer"]: r["labels"]["customer"] for r in result["rows"]} == {
        text(i): name for i, name, _n in expected
    }


def test_boolean_dimension(world: World) -> None:
    result = world.dashboards().widget("board", "won_flag")
    expected = world.all(f"select won, count(*) from {world.opp} group by won")
    assert rows_by_cell(result) == {("true" if w else "false",): n for w, n in expected}
    assert {r["labels"]["won"] for r in result["rows"]} == {"是", "否"}
