"""Scheduled dashboard reports (issue 12, S23): the ``send_report`` action fired by a schedule
trigger, each recipient's figures computed under that recipient's permissions, robots in
the narrowest scope of a role, absolute links when the base URL is configured."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from builder.triggers import SendReport
from runtime.automation.actions.base import ActionContext
from runtime.automation.actions.send_report import SendReportHandler
from runtime.context import Actor, CallContext
from tests.fixtures_reports import report_app
from tests.integration.automation.conftest import World
from tests.unit.actions.servers import http_endpoint

FRIDAY_1700 = {"type": "schedule", "cron": "0 17 * * fri", "timezone": "Asia/Shanghai"}
S23_REPORT = {
    "key": "friday_review", "label": "周五复盘议题", "on": FRIDAY_1700,
    "actions": [
        {"type": "send_report", "dashboard": "weekly_review", "channel": "inbox", "to_role": "manager",
         "title": "周五 17:00 复盘议题"},
        {"type": "send_report", "dashboard": "weekly_review", "widget": "topics", "channel": "inbox",
         "to_role": "rep"},
    ],
}


def _seed(world: World) -> None:
    mine = world.records("review", world.rep)
    mine.create("opportunity", {"name": "华联超市", "region": "east", "amount": 100})
    mine.create("opportunity", {"name": "如意超市", "region": "east", "amount": 50})
    world.records("review", world.rep2).create("opportunity", {"name": "南方大单", "region": "south", "amount": 30})


def test_s23_friday_1700_shanghai_report_to_each_inbox_with_its_own_figures(world: World) -> None:
    world.publish(report_app(triggers=[S23_REPORT]))
    _seed(world)
    world.settle()  # Monday 09:00 Shanghai: the schedule starts counting
    world.advance(timedelta(days=4, hours=7, minutes=59))  # Friday 16:59
    world.settle()
    assert world.inbox(world.manager) == [] and world.inbox(world.rep) == []
    world.advance(timedelta(minutes=2))  # Friday 17:01 Asia/Shanghai
    world.settle()
    world.settle()

    (report,) = world.inbox(world.manager)
    assert report.title == "周五 17:00 复盘议题"
    lines = report.message.splitlines()
    assert "**商机数**" in lines and "数量: 3" in lines and "金额: 180" in lines
    assert "- 华东: 数量 2" in lines and "- 华南: 数量 1" in lines
    assert "**最大商机**" in lines and "- 华联超市" in lines and "- 南方大单" in lines

    # The rep's report (one widget) counts only what the rep may read (owner == me()).
    (mine,) = world.inbox(world.rep)
    assert mine.title == "各区域议题"
    assert mine.message.splitlines() == ["**各区域议题**", "- 华东: 数量 2"]
    (theirs,) = world.inbox(world.rep2)
    assert theirs.message.splitlines() == ["**各区域议题**", "- 华南: 数量 1"]

    world.advance(timedelta(days=7))  # the next Friday: once more, not twice
    world.settle()
    assert len(world.inbox(world.manager)) == 2 and len(world.inbox(world.rep)) == 2


def _context(world: World, *, key: str, settings: Any) -> ActionContext:
    session = world.platform.session()
    call = CallContext(session=session, workspace=world.workspace, actor=Actor.system(world.workspace.id),
                       clock=world.clock, extras={"locale": "en"})
    return ActionContext(call=call, app=world.app("review"), settings=settings, trigger_key="friday_review",
                         entity="", record_id=None, record=None, idempotency_key=key)


def test_robot_report_in_the_narrowest_scope_of_a_role_with_absolute_links(embedded_world: World) -> None:
    world = embedded_world
    world.publish(report_app())
    _seed(world)
    settings = world.platform.settings.with_overrides(base_url="https://cairn.example.com",
                                                      webhook_allowlist=("127.0.0.1",))
    with http_endpoint() as server:
        hook = server.url("/cgi-bin/webhook/send?key=k")
        for role, key in (("rep", "1:0"), ("manager", "2:0")):
            ctx = _context(world, key=key, settings=settings)
            outcome = SendReportHandler().run(ctx, SendReport(
                dashboard="weekly_review", widget="topics", channel="wecom", webhook_url=hook, as_role=role))
            ctx.call.session.close()
            assert outcome.status == "ok"
    as_rep, as_manager = (json.loads(r.body)["markdown"]["content"] for r in server.received)
    # A rep who is nobody in particular owns nothing: the group sees no rep's records.
    assert "(no data)" in as_rep and "East" not in as_rep
    assert "- East: Count 2 https://cairn.example.com/a/review/opportunity/?drill=weekly_review.topics" \
           "&cell.region=east" in as_manager
    assert "https://cairn.example.com/apps/review/dashboards/weekly_review" in as_manager


def test_a_recipient_who_may_not_open_the_dashboard_gets_nothing(embedded_world: World) -> None:
    world = embedded_world
    app = report_app()
    app["dashboards"][0]["roles"] = ["manager"]
    world.publish(app)
    _seed(world)
    ctx = _context(world, key="3:0", settings=world.platform.settings)
    outcome = SendReportHandler().run(ctx, SendReport(dashboard="weekly_review", channel="inbox", to_role="rep"))
    ctx.call.session.commit()
    ctx.call.session.close()
    assert outcome.status == "skipped" and world.inbox(world.rep) == []
    assert any("can't read the dashboard" in note for note in outcome.detail["notes"])


def test_email_one_message_per_person_in_their_language_with_their_figures(embedded_world: World) -> None:
    from email import message_from_bytes, policy

    from runtime.workspaces import IdentityService
    from tests.unit.actions.servers import smtp_sink

    world = embedded_world
    world.publish(report_app())
    with world.platform.session() as session:
        identity = IdentityService(session, world.clock)
        workspace = session.merge(world.workspace)
        ann = identity.create_user(workspace, "ann@acme.test", role="rep", locale="en")
        boss = identity.create_user(workspace, "boss@acme.test", role="manager", locale="zh")
        ann_id = ann.id
        assert boss.id
        session.refresh(ann)
        session.expunge(ann)
    world.records("review", ann).create("opportunity", {"name": "Ann's deal", "region": "south", "amount": 7})
    _seed(world)
    settings = world.platform.settings.with_overrides(base_url="https://cairn.example.com")
    with smtp_sink() as sink:
        ctx = _context(world, key="9:0", settings=settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{sink.port}"))
        outcome = SendReportHandler().run(ctx, SendReport(dashboard="weekly_review", widget="topics", channel="email",
                                                          to_role="rep"))
        ctx.call.session.close()
        boss_ctx = _context(world, key="9:1", settings=settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{sink.port}"))
        SendReportHandler().run(boss_ctx, SendReport(dashboard="weekly_review", widget="topics", channel="email",
                                                     to_role="manager"))
        boss_ctx.call.session.close()
    # Only users whose username is an address get e-mail: ann (a rep, English) and boss.
    assert outcome.status == "ok" and outcome.detail["sent_to"] == ["ann@acme.test"]
    assert list(outcome.detail["reports"]) == [str(ann_id)]
    assert any("no e-mail address" in note for note in outcome.detail["notes"])  # the other reps
    mails = {m.rcpt_to[0]: message_from_bytes(m.data, policy=policy.default) for m in sink.messages}
    assert set(mails) == {"ann@acme.test", "boss@acme.test"}
    ann_body = mails["ann@acme.test"].get_body(preferencelist=("plain",)).get_content()
    assert mails["ann@acme.test"]["Subject"] == "Topics by region"
    assert "- South: Count 1 https://cairn.example.com/a/review/opportunity/?drill=weekly_review.topics" \
           "&cell.region=south" in ann_body and "East" not in ann_body
    boss_body = mails["boss@acme.test"].get_body(preferencelist=("plain",)).get_content()
    assert "- 华东: 数量 2" in boss_body and "- 华南: 数量 2" in boss_body
    assert "https://cairn.example.com/apps/review/dashboards/weekly_review" in boss_body
    assert mails["ann@acme.test"]["Message-ID"] != mails["boss@acme.test"]["Message-ID"]
