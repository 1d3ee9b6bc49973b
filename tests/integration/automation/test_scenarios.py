"""Scenarios S6, S7, S8, S9, S13, S14 and S30 from metadata only, in both execution modes.

Each test runs four times: SQLite and PostgreSQL × embedded worker and Celery worker on
Redis. Time is frozen and advanced by the test; ``world.settle()`` runs the sweeps and all
due jobs.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runtime.automation.events import post_event
from tests.integration.automation.conftest import World
from tests.integration.automation.definitions import sales_app


def test_s6_need_confirmation_timeout(world: World) -> None:
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市", "region": "华东"}).record
    records.update("customer", customer["id"], {"stage": "need"})
    world.settle()
    world.advance(timedelta(hours=47))
    world.settle()
    assert world.inbox(world.manager) == []
    assert records.get("customer", customer["id"])["status"] is None

    world.advance(timedelta(hours=2))
    world.settle()
    (message,) = world.inbox(world.manager)
    assert "华联超市" in message.message and message.title == "需求确认超时"
    assert records.get("customer", customer["id"])["status"] == "待激活"

    # Fires once per episode: more sweeps change nothing.
    world.advance(timedelta(days=3))
    world.settle()
    assert len(world.inbox(world.manager)) == 1


def test_s6_not_fired_when_step_done_in_time(world: World) -> None:
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "如意超市"}).record
    records.update("customer", customer["id"], {"stage": "need"})
    world.advance(timedelta(hours=20))
    records.update("customer", customer["id"], {"need_note": "预算 50 万,Q1 启动"})
    world.advance(timedelta(hours=40))
    world.settle()
    assert world.inbox(world.manager) == []


def test_s7_silent_lead(world: World) -> None:
    world.publish(sales_app())
    records = world.records("sales")
    quiet = records.create("lead", {"name": "静默线索"}).record
    active = records.create("lead", {"name": "活跃线索"}).record
    world.advance(timedelta(hours=48))
    records.create("follow_up", {"lead": active["id"], "note": "电话沟通"})
    world.advance(timedelta(hours=25))
    world.settle()

    assert [m.message for m in world.inbox(world.rep)] == ["线索 静默线索 已 72 小时无跟进"]
    assert records.get("lead", quiet["id"])["risk"] == "高风险流失线索"
    assert records.get("lead", active["id"])["risk"] is None
    (task,) = records.all("task")
    assert task["lead"] == quiet["id"] and task["assignee"] == world.manager.id
    assert task["title"] == "督促跟进线索 静默线索"
    assert task["due_at"] == world.clock.now() + timedelta(days=1)


def test_s8_keyword_prompt_is_returned_to_the_writer(world: World) -> None:
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    visit = records.create("visit", {"customer": customer["id"]}).record
    plain = records.update("visit", visit["id"], {"transcript": "客户介绍了门店情况"})
    assert plain.prompts == []
    hot = records.update("visit", visit["id"], {"transcript": "这个项目领导重视,下月项目启动"})
    (prompt,) = hot.prompts
    assert prompt.trigger == "budget_prompt"
    assert prompt.title["zh"] == "预算探询"
    assert "预算" in prompt.message["zh"]
    # Prompts run inline: nothing was queued for them.
    assert [j.trigger_key for j in world.jobs()] == []


def test_s9_order_accepted_creates_follow_up_in_30_days(world: World) -> None:
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    order = records.create("order", {"customer": customer["id"], "status": "草稿"}).record
    world.settle()
    assert records.all("task") == []
    records.update("order", order["id"], {"status": "已验收"})
    world.settle()
    (task,) = records.all("task")
    assert task["title"] == "30 天回访"
    assert task["customer"] == customer["id"] and task["assignee"] == world.rep.id
    assert task["due_at"] == world.clock.now() + timedelta(days=30)
    assert [m.message for m in world.inbox(world.rep)] == [f"订单 {order['id']} 已验收,已发送使用指南"]
    # Settling again (a redelivered job) does not repeat anything.
    world.settle()
    assert len(records.all("task")) == 1 and len(world.inbox(world.rep)) == 1


def test_s13_behaviour_chain_within_three_days(world: World) -> None:
    world.publish(sales_app())
    records = world.records("sales")
    slow = records.create("customer", {"name": "慢客户"}).record
    fast = records.create("customer", {"name": "快客户"}).record
    for name in ("product_page", "white_paper"):
        post_event(world.ctx(), "sales", "customer", slow["id"], name)
    world.advance(timedelta(days=4))
    post_event(world.ctx(), "sales", "customer", slow["id"], "pricing_exit")

    post_event(world.ctx(), "sales", "customer", fast["id"], "white_paper")  # out of order
    post_event(world.ctx(), "sales", "customer", fast["id"], "product_page")
    world.advance(timedelta(hours=5))
    post_event(world.ctx(), "sales", "customer", fast["id"], "white_paper")
    world.advance(timedelta(hours=30))
    result = post_event(world.ctx(), "sales", "customer", fast["id"], "pricing_exit")
    assert result["fired"] == ["buying_signals"]
    post_event(world.ctx(), "sales", "customer", fast["id"], "pricing_exit")  # no second firing
    world.settle()

    (task,) = records.all("task")
    assert task["customer"] == fast["id"] and task["title"] == "跟进高意向客户 快客户"
    assert task["script"].startswith("您最近关注了我们的定价")


def test_s14_commitment_late_alerts_both_sides(world: World) -> None:
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    due = world.clock.now() + timedelta(days=2)
    late = records.create(
        "commitment", {"customer": customer["id"], "deliverable": "样机", "due_at": due.isoformat()}
    ).record
    kept = records.create(
        "commitment", {"customer": customer["id"], "deliverable": "报价单", "due_at": due.isoformat()}
    ).record
    world.advance(timedelta(days=2, hours=6))
    records.update("commitment", kept["id"], {"delivered": True})
    world.settle()
    assert world.inbox(world.rep) == []
    world.advance(timedelta(hours=7))
    world.settle()
    assert [m.message for m in world.inbox(world.rep)] == ["承诺「样机」已逾期 12 小时"]
    assert [m.message for m in world.inbox(world.manager)] == ["承诺「样机」已逾期 12 小时"]
    assert records.get("commitment", late["id"])["overdue"] is True
    assert records.get("commitment", kept["id"])["overdue"] is False


def test_s30_new_product_deal_creates_incentive(world: World) -> None:
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    old = records.create("order", {"customer": customer["id"], "product_line": "老品"}).record
    new = records.create("order", {"customer": customer["id"], "product_line": "新品"}).record
    records.update("order", old["id"], {"status": "已验收"})
    records.update("order", new["id"], {"status": "已验收"})
    world.settle()
    (incentive,) = records.all("incentive")
    assert incentive["order"] == new["id"] and incentive["rep"] == world.rep.id
    assert incentive["amount"] == Decimal(50)


S11_RULES = [
    {"key": "industry_expert", "label": "同行业成交", "entity": "lead", "field": "assignee",
     "strategy": "rule",
     "history": {"entity": "deal", "where": "won and closed_at >= now() - 30d", "same": {"industry": "industry"}},
     "fallback": ["least_loaded"]},
    {"key": "least_loaded", "label": "负载最低", "entity": "lead", "field": "assignee",
     "strategy": "least_loaded"},
]
S11_TRIGGER = {
    "key": "assign_new_lead", "label": "新线索分配", "entity": "lead", "on": "created",
    "actions": [{"type": "assign", "rule": "industry_expert"}],
}


def test_s11_lead_assignment_with_fallback(world: World) -> None:
    from sqlalchemy import select

    from runtime.assignment import AssignmentLog

    world.publish(sales_app(triggers=[S11_TRIGGER], assignment_rules=S11_RULES))
    closed = (world.clock.now() - timedelta(days=10)).isoformat()
    world.records("sales", world.rep2).create(
        "deal", {"name": "大单", "industry": "制造", "won": True, "closed_at": closed}
    )
    records = world.records("sales", world.admin)
    expert = records.create("lead", {"name": "制造业线索", "industry": "制造"}).record
    world.settle()
    assert records.get("lead", expert["id"])["assignee"] == world.rep2.id

    blank = records.create("lead", {"name": "无行业线索"}).record
    world.settle()
    assert records.get("lead", blank["id"])["assignee"] == world.rep.id  # rep2 already has one
    with world.platform.session() as session:
        log = session.scalars(select(AssignmentLog).where(AssignmentLog.record_id == blank["id"])).one()
        assert log.decided_by == "least_loaded" and "industry is empty" in log.summary


S23_TRIGGER = {
    "key": "weekly_review", "label": "周五复盘议题", "on": {"type": "schedule", "cron": "0 17 * * fri",
                                                         "timezone": "Asia/Shanghai"},
    "actions": [{"type": "report", "title": "本周未关闭承诺", "channel": "inbox", "to_role": "manager",
                 "query": {"entity": "commitment", "where": "not delivered", "group_by": ["deliverable"]}}],
}


def test_s23_weekly_schedule_fires_once_per_friday_1700_shanghai(world: World) -> None:
    world.publish(sales_app(triggers=[S23_TRIGGER]))
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    due = (world.clock.now() + timedelta(days=1)).isoformat()
    records.create("commitment", {"customer": customer["id"], "deliverable": "样机", "due_at": due})
    world.settle()  # Monday 09:00 Shanghai: the schedule starts counting
    world.advance(timedelta(days=4, hours=7, minutes=59))  # Friday 16:59
    world.settle()
    assert world.inbox(world.manager) == []
    world.advance(timedelta(minutes=2))  # Friday 17:01
    world.settle()
    world.settle()
    (report,) = world.inbox(world.manager)
    assert report.title == "本周未关闭承诺" and "样机" in report.message
    world.advance(timedelta(days=7))  # next Friday, and a missed one is not repeated
    world.settle()
    assert len(world.inbox(world.manager)) == 2
