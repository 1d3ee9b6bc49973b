"""'Why this rep' told in Chinese and English from the logged reason (runtime.assignment.explain)."""

from __future__ import annotations

from runtime.assignment import explain


def test_weighted_winner_lists_each_factor_and_the_total() -> None:
    reason = {"steps": [{
        "rule": "smart", "rule_label": {"zh": "智能分配", "en": "Smart"}, "strategy": "weighted",
        "candidates": 2, "user_id": 5, "note": "",
        "scores": [
            {"user_id": 5, "total": 55, "load": 1, "parts": [
                {"key": "region", "label": "区域匹配", "label_en": "Region match", "points": 40},
                {"key": "industry", "label": "行业经验", "label_en": "Industry", "points": 25},
                {"key": "load", "label": "当前负载", "label_en": "Current load", "points": -10},
            ]},
            {"user_id": 6, "total": 30, "load": 0, "parts": []},
        ],
    }]}
    told = explain(reason)
    assert told["zh"] == "「智能分配」(加权评分):区域匹配 +40,行业经验 +25,当前负载 -10 → 总分 55,最高"
    assert told["en"] == "“Smart” (weighted scoring): Region match +40, Industry +25, Current load -10 → total 55, the highest"


def test_a_tie_says_the_lower_load_decided() -> None:
    scores = [{"user_id": 1, "total": 1, "parts": []}, {"user_id": 2, "total": 1, "parts": []}]
    told = explain({"steps": [{"rule": "w", "strategy": "weighted", "candidates": 2, "user_id": 1, "scores": scores}]})
    assert "并列最高" in told["zh"] and "tied highest" in told["en"]


def test_fallback_after_an_empty_industry_says_both_steps() -> None:
    reason = {"steps": [
        {"rule": "industry_expert", "rule_label": {"zh": "行业专家", "en": "Industry expert"}, "strategy": "rule",
         "candidates": 4, "user_id": None, "note": "record field industry is empty, so no history can match"},
        {"rule": "least_loaded", "rule_label": {"zh": "负载最低", "en": "Least loaded"}, "strategy": "least_loaded",
         "candidates": 4, "user_id": 3, "load": 1, "note": "lowest load 1 of 4 candidates"},
    ]}
    told = explain(reason)
    assert told["zh"] == "「行业专家」记录的 industry 为空,无法匹配;改用「负载最低」(负载最低):4 位候选人中负载最低(未结 1 条)"
    assert told["en"].startswith("“Industry expert” found nobody (record field industry is empty")
    assert told["en"].endswith("then “Least loaded” (least loaded): lowest load of 4 candidates (1 open)")


def test_nobody_at_all() -> None:
    told = explain({"steps": [{"rule": "r", "strategy": "round_robin", "candidates": 0, "user_id": None, "pool_note": "no active users"}]})
    assert told == {"zh": "「r」没有候选人;未分配给任何人", "en": "“r” found nobody (no active users); nobody was assigned"}


def test_nobody_matched_the_rule() -> None:
    told = explain({"steps": [{"rule": "r", "strategy": "rule", "candidates": 3, "matched": 0, "user_id": None,
                               "note": "nobody matched: `x`"}]})
    assert told["zh"] == "「r」无人符合;未分配给任何人"
