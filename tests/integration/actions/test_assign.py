"""Assignment rules on real tables (SQLite and PostgreSQL): S11, S12, round robin, log."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from builder.triggers import Assign
from runtime.assignment import (
    AppExpressions,
    AssignmentCursor,
    AssignmentLog,
    AssignmentService,
    log_entries,
)
from runtime.automation.actions.assign import AssignHandler
from tests.integration.actions.conftest import World


def won_deal(world: World, owner: str, industry: str, days_ago: int, status: str = "won") -> None:
    world.create("deal", {
        "name": f"{owner}-{industry}-{days_ago}", "industry": industry, "status": status,
        "closed_at": (world.clock.now() - timedelta(days=days_ago)).isoformat(),
        "owner": world.users[owner].id,
    })


def open_leads(world: World, owner: str, n: int, status: str = "open") -> None:
    for i in range(n):
        world.create("lead", {"name": f"{owner}-{status}-{i}", "status": status, "owner": world.users[owner].id})


def assign(world: World, rule: str, values: dict[str, Any], key: str | None = None) -> tuple[dict[str, Any], Any]:
    lead = world.create("lead", {"status": "open", **values})
    outcome = AssignHandler().run(world.action("lead", lead, key=key), Assign(rule=rule))
    return world.get("lead", lead["id"]), outcome


def log_of(world: World, record_id: int) -> AssignmentLog:
    return world.session.scalars(
        sa.select(AssignmentLog).where(AssignmentLog.record_id == record_id)
    ).one()


def test_s11_rep_with_a_recent_win_in_the_industry(world: World) -> None:
    won_deal(world, "bob", "retail", days_ago=3)
    won_deal(world, "cat", "retail", days_ago=45)  # too long ago
    won_deal(world, "ann", "retail", days_ago=2, status="lost")  # not a win
    won_deal(world, "dan", "mining", days_ago=1)  # other industry
    open_leads(world, "bob", 3)  # busier than the others, still the expert
    lead, outcome = assign(world, "industry_expert", {"name": "华联", "industry": "retail"})
    assert lead["owner"] == world.users["bob"].id
    assert outcome.status == "ok" and outcome.detail["decided_by"] == "industry_expert"
    log = log_of(world, lead["id"])
    assert log.assignee_id == world.users["bob"].id and log.strategy == "rule"
    assert log.reason["steps"][0]["note"].startswith("1 of 4 candidates matched: a deal with the same industry")
    assert "bob" in log.summary and log.reason["fallbacks_tried"] == []


def test_s11_empty_industry_falls_back_to_least_loaded_and_says_so(world: World) -> None:
    won_deal(world, "bob", "retail", days_ago=3)
    open_leads(world, "ann", 2)
    open_leads(world, "bob", 1)
    open_leads(world, "cat", 1)
    open_leads(world, "dan", 3)
    open_leads(world, "cat", 5, status="closed")  # closed leads are no load
    lead, outcome = assign(world, "industry_expert", {"name": "无行业", "industry": None})
    assert lead["owner"] == world.users["bob"].id  # bob and cat have 1 open lead; bob's id is lower
    assert outcome.detail["decided_by"] == "least_loaded"
    log = log_of(world, lead["id"])
    steps = log.reason["steps"]
    assert [s["rule"] for s in steps] == ["industry_expert", "least_loaded"]
    assert steps[0]["user_id"] is None and "industry is empty" in steps[0]["note"]
    assert log.reason["fallbacks_tried"] == ["least_loaded"]
    assert "by fallback least_loaded" in log.summary and "industry is empty" in log.summary
    assert log.reason["explanation"]["zh"] == (
        "「行业专家」记录的 industry 为空,无法匹配;改用「负载最低」(负载最低):4 位候选人中负载最低(未结 1 条)"
    )
    (entry,) = log_entries(world.session, world.workspace.id, entity="lead", record_id=lead["id"])
    assert entry["decided_by"] == "least_loaded" and entry["reason"] == log.reason


def test_s11_nobody_matching_falls_back_too(world: World) -> None:
    won_deal(world, "bob", "retail", days_ago=3)
    open_leads(world, "ann", 1)
    open_leads(world, "bob", 1)
    open_leads(world, "dan", 1)
    lead, _ = assign(world, "industry_expert", {"name": "矿业", "industry": "mining"})
    assert lead["owner"] == world.users["cat"].id
    log = log_of(world, lead["id"])
    assert log.decided_by == "least_loaded"
    assert log.reason["steps"][0]["note"].startswith("nobody matched")


def test_least_loaded_counts_only_open_records_of_each_candidate(world: World) -> None:
    open_leads(world, "ann", 1)
    open_leads(world, "bob", 2)
    open_leads(world, "cat", 1)
    open_leads(world, "dan", 1)
    open_leads(world, "ann", 4, status="closed")
    first, _ = assign(world, "least_loaded", {"name": "a"})
    second, _ = assign(world, "least_loaded", {"name": "b"})
    third, _ = assign(world, "least_loaded", {"name": "c"})
    users = world.users
    # ann (1 open), then cat (1 open; ann now has 2), then dan (1 open).
    assert [first["owner"], second["owner"], third["owner"]] == [users["ann"].id, users["cat"].id, users["dan"].id]


def test_round_robin_is_fair_and_its_cursor_persists(world: World) -> None:
    counts: Counter[int] = Counter()
    order = []
    for i in range(8):
        lead, _ = assign(world, "turns", {"name": f"rr{i}"})
        counts[lead["assignee"]] += 1
        order.append(lead["assignee"])
    reps = sorted(u.id for n, u in world.users.items() if n != "boss")
    assert counts == {r: 2 for r in reps}
    assert order == reps + reps
    cursor = world.session.scalars(sa.select(AssignmentCursor)).one()
    assert cursor.rule_key == "turns" and cursor.last_user_id == reps[-1]


def test_candidates_filtered_by_the_records_region_with_fallback(world: World) -> None:
    east, _ = assign(world, "east_only", {"name": "e", "region": "west"})
    assert east["owner"] == world.users["dan"].id  # the only rep in region west
    north, outcome = assign(world, "east_only", {"name": "n", "region": "north"})
    assert outcome.detail["decided_by"] == "turns"
    steps = log_of(world, north["id"]).reason["steps"]
    assert steps[0]["candidates"] == 0 and steps[1]["rule"] == "turns"
    empty, _ = assign(world, "east_only", {"name": "x", "region": None})
    assert "region" in log_of(world, empty["id"]).reason["steps"][0]["note"]


def test_s12_weighted_with_explanation(world: World) -> None:
    won_deal(world, "cat", "retail", days_ago=5)
    open_leads(world, "ann", 1)
    open_leads(world, "cat", 4)
    lead, outcome = assign(world, "smart", {"name": "s12", "industry": "retail"})
    assert lead["owner"] == world.users["cat"].id and outcome.detail["strategy"] == "weighted"
    log = log_of(world, lead["id"])
    scores = log.reason["steps"][0]["scores"]
    best = scores[0]
    assert best["user_id"] == world.users["cat"].id
    parts = {p["key"]: p for p in best["parts"]}
    # industry match 1 × 0.6; capacity (1 - 4/10) × 0.4 = 0.24
    assert parts["industry"]["points"] == 0.6 and parts["industry"]["label"] == "行业匹配"
    assert abs(parts["capacity"]["points"] - 0.24) < 1e-9
    assert abs(best["total"] - 0.84) < 1e-9
    # Every candidate's breakdown is kept, best first: bob (no match, no load) is next.
    assert [s["user_id"] for s in scores][:2] == [world.users["cat"].id, world.users["bob"].id]
    assert len(scores) == 4
    assert "highest score 0.84" in log.summary and "industry +0.60" in log.summary


def test_weights_are_data(world: World) -> None:
    """Changing only the weights (as the designer's drag does) changes the pick."""
    won_deal(world, "cat", "retail", days_ago=5)
    open_leads(world, "cat", 4)
    rule = next(r for r in world.app.definition.assignment_rules if r.key == "smart")
    reweighted = replace(rule, weights=tuple(replace(w, weight=0.1 if w.key == "industry" else 0.9) for w in rule.weights))
    service = AssignmentService(
        world.session, workspace_id=world.workspace.id, app_id=world.app.app_id,
        rules=[reweighted], table_for=world.app.table,
        expressions=AppExpressions(world.call(), world.app), now=world.clock.now(),
    )
    lead = world.create("lead", {"name": "w", "industry": "retail", "status": "open"})
    result = service.assign("smart", lead, record_id=lead["id"])
    assert result.user_id == world.users["ann"].id  # capacity now outweighs the industry match


def test_redelivered_job_assigns_the_same_user_once(world: World) -> None:
    lead = world.create("lead", {"name": "dup", "status": "open"})
    handler = AssignHandler()
    first = handler.run(world.action("lead", lead, key="99:0"), Assign(rule="turns"))
    again = handler.run(world.action("lead", world.get("lead", lead["id"]), key="99:0"), Assign(rule="turns"))
    assert first.detail["user_id"] == again.detail["user_id"]
    assert again.detail.get("write") == "unchanged"
    assert world.session.scalar(sa.select(sa.func.count()).select_from(AssignmentLog)) == 1
    cursor = world.session.scalars(sa.select(AssignmentCursor)).one()
    assert cursor.last_user_id == first.detail["user_id"]


def test_nobody_at_all_is_skipped_and_logged(world: World) -> None:
    for user in world.users.values():
        user.is_active = False
    world.session.commit()
    lead, outcome = assign(world, "industry_expert", {"name": "none", "industry": "retail"})
    assert outcome.status == "skipped"
    log = log_of(world, lead["id"])
    assert log.assignee_id is None and log.summary.startswith("nobody assigned")
    assert [s["rule"] for s in log.reason["steps"]] == ["industry_expert", "least_loaded"]


def test_concurrent_round_robin_takes_distinct_turns(world: World) -> None:
    import threading

    from sqlalchemy.orm import Session

    engine = world.session.get_bind()
    world.session.commit()
    rule = next(r for r in world.app.definition.assignment_rules if r.key == "turns")
    picks: list[int] = []
    errors: list[BaseException] = []

    def take_turn(n: int) -> None:
        try:
            with Session(engine) as session:
                service = AssignmentService(
                    session, workspace_id=world.workspace.id, app_id=world.app.app_id,
                    rules=[rule], table_for=world.app.table, expressions=None, now=world.clock.now(),
                )
                result = service.assign("turns", {}, record_id=None, idempotency_key=f"c:{n}")
                session.commit()
                assert result.user_id is not None
                picks.append(result.user_id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=take_turn, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    reps = sorted(u.id for n, u in world.users.items() if n != "boss")
    assert Counter(picks) == {r: 2 for r in reps}
