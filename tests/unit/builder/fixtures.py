"""A valid definition for tests: the store-visit app of scenarios S1, S2, S3 and S17.

Returned as a fresh JSON dict every call, so tests may mutate it freely.
"""

from __future__ import annotations

import copy
from typing import Any

LOCKED_MESSAGE = {
    "zh": "请先完成竞品分析,这是制定方案的基础",
    "en": "Finish the competitor analysis first: the proposal builds on it",
}

NEED_CONFIRMATION_EXIT = (
    'budget_range != null and count(contacts where role in ["采购", "技术", "老板"]) >= 2'
)


def _customer() -> dict[str, Any]:
    return {
        "key": "customer",
        "label": {"zh": "客户", "en": "Customer"},
        "title_field": "name",
        "fields": [
            {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"},
             "required": True, "max_length": 200},
            {"key": "region", "type": "choice", "label": {"zh": "区域", "en": "Region"},
             "options": ["华东", "华南", "华北", {"value": "西部", "label": {"zh": "西部",
                                                                         "en": "West"}}],
             "index": True},
            {"key": "industry", "type": "text", "label": {"zh": "行业", "en": "Industry"}},
            {"key": "phone", "type": "phone", "label": {"zh": "电话", "en": "Phone"}},
            {"key": "location", "type": "location", "label": {"zh": "位置", "en": "Location"}},
        ],
        "permissions": [
            {"role": "rep", "delete": False},
            {"role": "manager"},
        ],
    }  # fmt: skip


def _visit() -> dict[str, Any]:
    return {
        "key": "visit",
        "label": {"zh": "拜访", "en": "Visit"},
        "fields": [
            {"key": "customer", "type": "link", "target": "customer", "required": True,
             "related_name": "visits", "related_label": {"zh": "拜访记录", "en": "Visits"},
             "label": {"zh": "客户", "en": "Customer"}},
            {"key": "checkin_location", "type": "location", "required": True,
             "label": {"zh": "定位打卡", "en": "Check-in location"}},
            {"key": "shelf_photos", "type": "photo", "multiple": True, "required": True,
             "max_size_mb": 10, "accept": ["image/jpeg", "image/png"],
             "label": {"zh": "货架全景照片", "en": "Shelf panorama photos"}},
            {"key": "competitor_note", "type": "long_text", "required": True,
             "label": {"zh": "竞品陈列标注", "en": "Competitor display notes"}},
            {"key": "transcript", "type": "long_text",
             "label": {"zh": "需求痛点(语音转文字)", "en": "Pain points (transcript)"},
             "help": {"zh": "按住说话,自动转文字", "en": "Hold to talk; it is transcribed"}},
            {"key": "next_follow_up_at", "type": "datetime",
             "label": {"zh": "下次跟进时间", "en": "Next follow-up"}},
            {"key": "commitment_count", "type": "formula", "formula": "count(commitments)",
             "label": {"zh": "承诺数", "en": "Commitments"}},
        ],
        "steps": [
            {"key": "checkin", "label": {"zh": "定位打卡", "en": "Check in"},
             "fields": ["checkin_location"]},
            {"key": "shelf_photo", "label": {"zh": "货架全景拍照", "en": "Shelf photo"},
             "fields": ["shelf_photos"]},
            {"key": "competitor", "label": {"zh": "竞品陈列标注", "en": "Competitor display"},
             "fields": ["competitor_note"]},
            {"key": "pain_points", "label": {"zh": "需求痛点", "en": "Pain points"},
             "fields": ["transcript"], "unlock_when": "steps.competitor.done",
             "done_when": "transcript != null", "locked_message": LOCKED_MESSAGE},
            {"key": "commitments", "label": {"zh": "承诺事项清单", "en": "Commitments"},
             "done_when": "count(commitments) >= 1"},
            {"key": "next_follow_up", "label": {"zh": "下次跟进", "en": "Next follow-up"},
             "fields": ["next_follow_up_at"]},
        ],
        "rules": [
            {"key": "follow_up_in_future",
             "assert": "next_follow_up_at == null or next_follow_up_at > created_at",
             "message": {"zh": "下次跟进时间必须晚于拜访时间",
                         "en": "The next follow-up must be after the visit"}},
        ],
        "permissions": [
            {"role": "rep", "read_when": "owner == me()", "write_when": "owner == me()"},
            {"role": "manager"},
        ],
    }  # fmt: skip


def _commitment() -> dict[str, Any]:
    return {
        "key": "commitment",
        "label": {"zh": "承诺事项", "en": "Commitment"},
        "title_field": "content",
        "fields": [
            {"key": "visit", "type": "link", "target": "visit", "related_name": "commitments",
             "required": True, "label": {"zh": "拜访", "en": "Visit"}},
            {"key": "content", "type": "text", "required": True, "max_length": 500,
             "label": {"zh": "内容", "en": "Content"}},
            {"key": "due_at", "type": "datetime", "label": {"zh": "截止时间", "en": "Due at"}},
            {"key": "status", "type": "choice", "default": "open",
             "label": {"zh": "状态", "en": "Status"},
             "options": [{"value": "open", "label": {"zh": "未完成", "en": "Open"}},
                         {"value": "done", "label": {"zh": "已完成", "en": "Done"}}]},
        ],
    }  # fmt: skip


OBJECTION_TAGS = ["价格太高", "预算不足", "已有供应商", "效果存疑", "时机不对", "需要审批"]


def _opportunity() -> dict[str, Any]:
    return {
        "key": "opportunity",
        "label": {"zh": "商机", "en": "Opportunity"},
        "title_field": "title",
        "fields": [
            {"key": "title", "type": "text", "required": True,
             "label": {"zh": "商机名称", "en": "Title"}},
            {"key": "customer", "type": "link", "target": "customer",
             "related_name": "opportunities", "label": {"zh": "客户", "en": "Customer"}},
            {"key": "contact_channel", "type": "choice", "options": ["扫码", "电话", "微信"],
             "label": {"zh": "接触方式", "en": "Contact channel"},
             "required_when": 'stage == "contact"'},
            {"key": "budget_range", "type": "choice",
             "options": ["<5万", "5-20万", "20-100万", ">100万"],
             "label": {"zh": "预算范围", "en": "Budget range"},
             "visible_when": 'stage != "contact"'},
            {"key": "amount", "type": "money", "min": 0,
             "label": {"zh": "金额", "en": "Amount"}},
            {"key": "proposal", "type": "file", "label": {"zh": "方案", "en": "Proposal"},
             "read_only_when": 'stage == "closing"'},
            {"key": "objection", "type": "choice", "options": OBJECTION_TAGS,
             "label": {"zh": "异议", "en": "Objection"},
             "required_when": 'stage == "objection"'},
            {"key": "signed_at", "type": "date", "label": {"zh": "签约日期", "en": "Signed on"}},
            {"key": "grade", "type": "formula",
             "formula": 'if(amount >= 100000, "A", if(amount >= 20000, "B", "C"))',
             "label": {"zh": "等级", "en": "Grade"}},
        ],
        "stages": [
            {"key": "contact", "label": {"zh": "接触", "en": "Contact"},
             "exit_when": "contact_channel != null"},
            {"key": "need_confirmation", "label": {"zh": "需求确认", "en": "Need confirmation"},
             "exit_when": NEED_CONFIRMATION_EXIT,
             "guidance": {"zh": "至少两位决策人参与,并确认预算范围",
                          "en": "At least two decision makers took part; budget confirmed"}},
            {"key": "proposal", "label": {"zh": "方案", "en": "Proposal"},
             "exit_when": "count(proposal) >= 1"},
            {"key": "objection", "label": {"zh": "异议处理", "en": "Objection handling"},
             "exit_when": "objection != null"},
            {"key": "closing", "label": {"zh": "成交", "en": "Closing"}},
        ],
        "rules": [
            {"key": "amount_positive", "assert": "amount == null or amount > 0",
             "message": {"zh": "金额必须大于 0", "en": "The amount must be positive"}},
        ],
    }  # fmt: skip


def _contact() -> dict[str, Any]:
    return {
        "key": "contact",
        "label": {"zh": "联系人", "en": "Contact"},
        "title_field": "name",
        "fields": [
            {"key": "opportunity", "type": "link", "target": "opportunity",
             "related_name": "contacts", "required": True,
             "label": {"zh": "商机", "en": "Opportunity"}},
            {"key": "name", "type": "text", "required": True,
             "label": {"zh": "姓名", "en": "Name"}},
            {"key": "role", "type": "choice", "options": ["采购", "技术", "老板", "其他"],
             "label": {"zh": "角色", "en": "Role"}},
            {"key": "phone", "type": "phone", "label": {"zh": "电话", "en": "Phone"}},
        ],
    }  # fmt: skip


def visit_app_definition() -> dict[str, Any]:
    """The store-visit app (S1/S2 steps, S3 stages, S17 exit criteria) as a JSON dict."""
    doc = {
        "format": "cairn.app/1",
        "key": "store_visits",
        "label": {"zh": "门店销售管理系统", "en": "Store sales management"},
        "description": {"zh": "拜访六步卡与商机阶段", "en": "Six-step visits and pipeline"},
        "roles": ["admin", "manager", "rep"],
        "entities": [_customer(), _visit(), _commitment(), _opportunity(), _contact()],
    }
    return copy.deepcopy(doc)  # nothing shared between calls (constants included)
