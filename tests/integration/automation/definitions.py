"""The app definition the automation scenarios run on — metadata only, no Python per app.

One ``sales`` app with customers (stages, a need-confirmation step), leads and their
follow-ups, orders, tasks and commitments, and one trigger per scenario (S6–S14, S30).
Returned fresh on every call so tests may change it.
"""

from __future__ import annotations

import copy
from typing import Any


def _f(key: str, type_: str, zh: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "label": {"zh": zh, "en": key}, **extra}


ENTITIES: list[dict[str, Any]] = [
    {
        "key": "customer",
        "label": {"zh": "客户", "en": "Customer"},
        "title_field": "name",
        "fields": [
            _f("name", "text", "名称", required=True),
            _f("region", "choice", "区域", options=["华东", "华南"]),
            _f("industry", "text", "行业"),
            _f("status", "choice", "状态", options=["正常", "待激活"]),
            _f("need_note", "long_text", "需求确认"),
        ],
        "steps": [
            {"key": "need_confirmation", "label": {"zh": "需求确认", "en": "Need confirmation"},
             "fields": ["need_note"]},
        ],
        "stages": [
            {"key": "contact", "label": {"zh": "接触", "en": "Contact"}},
            {"key": "need", "label": {"zh": "需求确认", "en": "Need"}},
            {"key": "proposal", "label": {"zh": "方案", "en": "Proposal"}},
        ],
    },
    {
        "key": "visit",
        "label": {"zh": "拜访", "en": "Visit"},
        "fields": [
            _f("customer", "link", "客户", target="customer", related_name="visits"),
            _f("first_visit", "boolean", "首次拜访", default=True),
            _f("transcript", "long_text", "需求痛点"),
        ],
    },
    {
        "key": "lead",
        "label": {"zh": "线索", "en": "Lead"},
        "fields": [
            _f("name", "text", "名称", required=True),
            _f("industry", "text", "行业"),
            _f("risk", "choice", "风险", options=["正常", "高风险流失线索"]),
            _f("assignee", "user", "负责人"),
            _f("source_id", "text", "来源编号", unique=True),
        ],
    },
    {
        "key": "follow_up",
        "label": {"zh": "跟进", "en": "Follow-up"},
        "fields": [
            _f("lead", "link", "线索", target="lead", related_name="follow_ups"),
            _f("note", "text", "内容"),
        ],
    },
    {
        "key": "deal",
        "label": {"zh": "成交", "en": "Deal"},
        "fields": [
            _f("name", "text", "名称"),
            _f("industry", "text", "行业"),
            _f("won", "boolean", "赢单"),
            _f("closed_at", "datetime", "成交时间"),
        ],
    },
    {
        "key": "order",
        "label": {"zh": "订单", "en": "Order"},
        "fields": [
            _f("customer", "link", "客户", target="customer", related_name="orders"),
            _f("status", "choice", "状态", options=["草稿", "已验收"]),
            _f("product_line", "text", "产品线"),
            _f("amount", "money", "金额"),
        ],
    },
    {
        "key": "task",
        "label": {"zh": "任务", "en": "Task"},
        "fields": [
            _f("title", "text", "标题", required=True),
            _f("customer", "link", "客户", target="customer", related_name="tasks"),
            _f("lead", "link", "线索", target="lead", related_name="tasks"),
            _f("assignee", "user", "负责人"),
            _f("due_at", "datetime", "截止时间", index=True),
            _f("script", "long_text", "建议话术"),
        ],
    },
    {
        "key": "commitment",
        "label": {"zh": "承诺", "en": "Commitment"},
        "fields": [
            _f("customer", "link", "客户", target="customer", related_name="commitments"),
            _f("deliverable", "text", "交付物", required=True),
            _f("due_at", "datetime", "截止时间", required=True, index=True),
            _f("delivered", "boolean", "已交付", default=False),
            _f("overdue", "boolean", "已逾期", default=False),
        ],
    },
    {
        "key": "incentive",
        "label": {"zh": "激励", "en": "Incentive"},
        "fields": [
            _f("rep", "user", "销售"),
            _f("order", "link", "订单", target="order"),
            _f("amount", "money", "金额"),
        ],
    },
]

TRIGGERS: list[dict[str, Any]] = [
    {   # S6: need confirmation not done 48 h after entering the need stage
        "key": "need_timeout", "label": {"zh": "需求确认超时", "en": "Need confirmation overdue"},
        "entity": "customer",
        "on": {"type": "elapsed", "condition": 'stage == "need" and not steps.need_confirmation.done',
               "since": "stage_entered_at", "after": "48h"},
        "actions": [
            {"type": "notify", "channel": "inbox", "to": "owner.manager",
             "title": "需求确认超时", "message": "客户 {name} 进入需求确认阶段已超过 48 小时"},
            {"type": "set_field", "field": "status", "value": '"待激活"'},
        ],
    },
    {   # S7: a lead without follow-up for 72 h
        "key": "silent_lead", "label": {"zh": "沉默线索", "en": "Silent lead"},
        "entity": "lead",
        "on": {"type": "elapsed", "condition": "count(follow_ups where created_at >= now() - 72h) == 0",
               "since": "created_at", "after": "72h"},
        "actions": [
            {"type": "notify", "channel": "inbox", "to": "owner", "message": "线索 {name} 已 72 小时无跟进"},
            {"type": "create_record", "entity": "task",
             "values": {"title": '"督促跟进线索 " + name', "lead": "id", "assignee": "owner.manager",
                        "owner": "owner.manager"},
             "due_in": "1d", "due_field": "due_at"},
            {"type": "set_field", "field": "risk", "value": '"高风险流失线索"'},
        ],
    },
    {   # S8: keyword prompt on the first visit's transcript
        "key": "budget_prompt", "label": {"zh": "预算话术提示", "en": "Budget prompt"},
        "entity": "visit",
        "on": {"type": "field_changed", "field": "transcript"},
        "when": 'first_visit and contains_any(transcript, ["项目启动", "领导重视", "时间紧迫"])',
        "actions": [
            {"type": "prompt", "title": {"zh": "预算探询", "en": "Probe the budget"},
             "message": {"zh": "试着问:这个项目今年的预算大概在什么范围?",
                         "en": "Try: what budget range is planned for this project this year?"}},
        ],
    },
    {   # S9: order accepted → usage guide + 30-day follow-up task
        "key": "order_accepted", "label": {"zh": "订单验收", "en": "Order accepted"},
        "entity": "order",
        "on": {"type": "field_changed", "field": "status", "to": "已验收"},
        "actions": [
            {"type": "notify", "channel": "inbox", "to": "owner", "message": "订单 {id} 已验收,已发送使用指南"},
            {"type": "create_record", "entity": "task",
             "values": {"title": '"30 天回访"', "customer": "customer", "assignee": "owner", "owner": "owner"},
             "due_in": "30d", "due_field": "due_at"},
        ],
    },
    {   # S9 (second half) / S13: behaviour chain within 3 days → to-do with a script
        "key": "buying_signals", "label": {"zh": "购买信号", "en": "Buying signals"},
        "entity": "customer",
        "on": {"type": "event", "sequence": ["product_page", "white_paper", "pricing_exit"], "within": "3d"},
        "actions": [
            {"type": "create_record", "entity": "task",
             "values": {"title": '"跟进高意向客户 " + name', "customer": "id", "owner": "owner",
                        "script": '"您最近关注了我们的定价,我们有试用方案……"'},
             "due_in": "1d", "due_field": "due_at"},
        ],
    },
    {   # S14: a commitment 12 h late → alert both sides
        "key": "commitment_late", "label": {"zh": "承诺逾期", "en": "Commitment late"},
        "entity": "commitment",
        "on": {"type": "elapsed", "condition": "not delivered", "since": "due_at", "after": "12h"},
        "actions": [
            {"type": "notify", "channel": "inbox", "to": "owner", "message": "承诺「{deliverable}」已逾期 12 小时"},
            {"type": "notify", "channel": "inbox", "to": "owner.manager",
             "message": "承诺「{deliverable}」已逾期 12 小时"},
            {"type": "set_field", "field": "overdue", "value": "true"},
        ],
    },
    {   # S30: first deal of the new product line → incentive record
        "key": "new_product_incentive", "label": {"zh": "新品激励", "en": "New product incentive"},
        "entity": "order",
        "on": {"type": "field_changed", "field": "status", "to": "已验收"},
        "when": 'product_line == "新品"',
        "actions": [
            {"type": "create_record", "entity": "incentive",
             "values": {"rep": "owner", "order": "id", "amount": "50"}},
        ],
    },
]


def sales_app(
    *, triggers: list[dict[str, Any]] | None = None, assignment_rules: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The ``sales`` app definition (a fresh copy)."""
    return {
        "format": "cairn.app/1",
        "key": "sales",
        "label": {"zh": "销售管理", "en": "Sales"},
        "entities": copy.deepcopy(ENTITIES),
        "triggers": copy.deepcopy(TRIGGERS if triggers is None else triggers),
        "assignment_rules": copy.deepcopy(assignment_rules or []),
    }
