"""notify and report actions on real data: inbox rows, e-mail to users, robots, S6, S23."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from typing import Any

import pytest
import sqlalchemy as sa

from builder.model import LocalizedText
from builder.triggers import Notify, Report, ReportQuery
from runtime.automation.actions.base import PermanentActionError, TransientActionError
from runtime.automation.actions.notify import NotifyHandler
from runtime.automation.actions.report import ReportData, ReportHandler, build_message
from runtime.automation.models import InboxNotification
from tests.integration.actions.conftest import World
from tests.unit.actions.servers import Answer, http_endpoint, smtp_sink


def text(zh: str, en: str | None = None) -> LocalizedText:
    return LocalizedText(zh=zh, en=en)


def notify(**kwargs: Any) -> Notify:
    base: dict[str, Any] = {"channel": "inbox", "message": text("客户 {name} 的需求确认已超时")}
    base.update(kwargs)
    return Notify(**base)


def inbox(world: World) -> list[InboxNotification]:
    return list(world.session.scalars(sa.select(InboxNotification).order_by(InboxNotification.id)))


def test_s6_inbox_to_the_owners_manager_once(world: World) -> None:
    lead = world.create("lead", {"name": "华联超市", "owner": world.users["ann"].id})
    config = notify(to="owner.manager", title=text("超时提醒"))
    ctx = world.action("lead", lead, key="5:1")
    outcome = NotifyHandler().run(ctx, config)
    world.session.commit()
    again = NotifyHandler().run(world.action("lead", lead, key="5:1"), config)
    world.session.commit()
    (row,) = inbox(world)
    assert row.user_id == world.users["boss"].id
    assert row.title == "超时提醒" and row.message == "客户 华联超市 的需求确认已超时"
    assert row.idempotency_key == "5:1" and row.record_id == lead["id"] and row.entity == "lead"
    assert outcome.detail["written"] == 1 and again.detail["written"] == 0


def test_to_role_in_the_owners_region(world: World) -> None:
    lead = world.create("lead", {"name": "x", "owner": world.users["dan"].id})  # dan is in west
    NotifyHandler().run(world.action("lead", lead), notify(to_role="rep", same_region=True))
    assert [r.user_id for r in inbox(world)] == [world.users["dan"].id]
    lead = world.create("lead", {"name": "y", "owner": world.users["ann"].id})
    NotifyHandler().run(world.action("lead", lead), notify(to_role="rep", same_region=True))
    east = sorted(world.users[n].id for n in ("ann", "bob", "cat"))
    assert sorted(r.user_id for r in inbox(world)[1:]) == east


def test_nobody_to_notify_is_skipped_with_the_reason(world: World) -> None:
    lead = world.create("lead", {"name": "z", "owner": world.users["boss"].id})  # boss has no manager
    outcome = NotifyHandler().run(world.action("lead", lead), notify(to="owner.manager"))
    assert outcome.status == "skipped"
    assert "empty" in outcome.detail["notes"][0] and inbox(world) == []


def test_email_to_users_by_their_address_usernames(world: World) -> None:
    lead = world.create("lead", {"name": "华联超市", "owner": world.users["ann"].id})
    with smtp_sink() as sink:
        settings = world.settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{sink.port}")
        outcome = NotifyHandler().run(
            world.action("lead", lead, settings=settings),
            notify(channel="email", to="[owner, owner.manager]", title=text("超时 {name}")),
        )
    (mail,) = sink.messages
    assert mail.rcpt_to == ["ann@acme.test", "boss@acme.test"]
    parsed = message_from_bytes(mail.data, policy=policy.default)
    assert parsed["Subject"] == "超时 华联超市"
    assert outcome.detail["sent_to"] == ["ann@acme.test", "boss@acme.test"]


def test_wecom_robot_mentions_the_phone_of_the_record(world: World) -> None:
    lead = world.create("lead", {"name": "华联超市", "phone": "13800000000"})
    with http_endpoint() as server:
        NotifyHandler().run(
            world.action("lead", lead),
            notify(channel="wecom", to="phone", webhook_url=server.url("/cgi-bin/webhook/send?key=k")),
        )
    body = json.loads(server.received[0].body)
    assert body == {
        "msgtype": "text",
        "text": {"content": "客户 华联超市 的需求确认已超时", "mentioned_mobile_list": ["13800000000"]},
    }


def test_s23_report_grouped_to_managers_inbox(world: World) -> None:
    for i, status in enumerate(["open", "open", "closed", "open"]):
        world.create("lead", {"name": f"线索{i}", "status": status})
    config = Report(
        query=ReportQuery(entity="lead", where='status == "open"', group_by=("status",), limit=2),
        channel="inbox", title=text("每周复盘议题"), to_role="manager",
    )
    outcome = ReportHandler().run(world.action(None, None, trigger_key="weekly_review"), config)
    (row,) = inbox(world)
    assert row.user_id == world.users["boss"].id and row.title == "每周复盘议题"
    assert row.message.splitlines() == [
        "共 3 条", "按 status:", "- open: 3", "", "- #4 线索3", "- #2 线索1", "… 另有 1 条",
    ]
    assert outcome.detail["total"] == 3 and outcome.detail["listed"] == 2


def test_report_message_links_each_record() -> None:
    data = ReportData(total=1, group_by=(), groups=(), items=((7, "#7 华联"),))
    message = build_message("周报", data, locale="en", link_for=lambda i: f"https://cairn.test/r/{i}")
    assert message.text == "1 records\n\n- #7 华联 https://cairn.test/r/7"


def test_links_use_the_configured_base_url(world: World) -> None:
    lead = world.create("lead", {"name": "华联超市", "owner": world.users["ann"].id})
    settings = world.settings.with_overrides(base_url="https://cairn.acme.test")
    NotifyHandler().run(world.action("lead", lead, settings=settings), notify(to="owner"))
    (row,) = inbox(world)
    assert row.message.endswith(f"\nhttps://cairn.acme.test/a/sales/lead/{lead['id']}")


def test_robot_failures_map_to_transient_or_permanent(world: World) -> None:
    lead = world.create("lead", {"name": "x"})
    with http_endpoint() as server:
        server.script(Answer(status=502), Answer(body=b'{"errcode":93000,"errmsg":"invalid webhook url"}'))
        config = notify(channel="wecom", webhook_url=server.url())
        with pytest.raises(TransientActionError):
            NotifyHandler().run(world.action("lead", lead), config)
        with pytest.raises(PermanentActionError, match="93000"):
            NotifyHandler().run(world.action("lead", lead), config)
    refused = notify(channel="feishu", webhook_url="http://10.0.0.1/open-apis/bot/v2/hook/x")
    with pytest.raises(PermanentActionError, match="unsafe_target"):
        NotifyHandler().run(world.action("lead", lead), refused)
