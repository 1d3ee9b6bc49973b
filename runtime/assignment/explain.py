""""Why this rep": an assignment's reason told in Chinese and English.

:func:`explain` reads the reason JSON the service logs (``steps`` with their strategy,
chosen user, load and, for weighted scoring, every candidate's score parts) and answers
``{"zh": ..., "en": ...}``, e.g. ``区域匹配 +40,行业经验 +25,当前负载 -10 → 总分 55,最高``.
It works on stored JSON only, so old log rows without an explanation can be told too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_STRATEGY = {
    "round_robin": ("轮流分配", "round robin"),
    "least_loaded": ("负载最低", "least loaded"),
    "rule": ("规则匹配", "rule match"),
    "weighted": ("加权评分", "weighted scoring"),
}


def _number(value: Any) -> str:
    number = float(value or 0)
    return f"{number:g}" if number == round(number, 2) else f"{number:.2f}"


def _signed(value: Any) -> str:
    number = float(value or 0)
    return ("+" if number >= 0 else "-") + _number(abs(number))


def _rule_name(step: Mapping[str, Any], language: str) -> str:
    label = step.get("rule_label") or {}
    return str(label.get(language) or step.get("rule") or "")


def _weighted(step: Mapping[str, Any], language: str) -> str:
    scores: Sequence[Mapping[str, Any]] = step.get("scores") or []
    best = next((s for s in scores if s.get("user_id") == step.get("user_id")), None)
    if best is None:
        return ""
    parts = [
        f"{p.get('label_en') if language == 'en' else p.get('label') or p.get('key')} "
        f"{_signed(p.get('points'))}"
        for p in best.get("parts", [])
    ]
    ahead = len(scores) > 1 and float(scores[1].get("total") or 0) < float(best.get("total") or 0)
    if language == "zh":
        tail = f"总分 {_number(best.get('total'))}," + ("最高" if ahead else "与他人并列最高(负载更低)")
        return ",".join(parts) + " → " + tail
    tail = f"total {_number(best.get('total'))}, " + ("the highest" if ahead else "tied highest (lower load)")
    return ", ".join(parts) + " → " + tail


def _chosen(step: Mapping[str, Any], language: str) -> str:
    strategy = step.get("strategy")
    load = step.get("load")
    count = step.get("candidates")
    if strategy == "weighted":
        return _weighted(step, language)
    if strategy == "least_loaded":
        if language == "zh":
            return f"{count} 位候选人中负载最低(未结 {load} 条)"
        return f"lowest load of {count} candidates ({load} open)"
    if strategy == "round_robin":
        return "按顺序轮到此人" if language == "zh" else "next in turn"
    if strategy == "rule":
        matched = step.get("matched")
        if language == "zh":
            return f"{count} 位候选人中 {matched} 位符合规则,其中负载最低(未结 {load} 条)"
        return f"{matched} of {count} candidates met the rule; the lowest load among them ({load} open)"
    return str(step.get("note") or "")


_EMPTY_FIELD = re.compile(r"^record field (.+) is empty")
_EMPTY_REGION = re.compile(r"^the record's region \((.+)\) is empty")


def _nobody(step: Mapping[str, Any], language: str) -> str:
    if language == "zh":
        note = str(step.get("note") or "")
        empty = _EMPTY_FIELD.match(note) or _EMPTY_REGION.match(note)
        if empty:
            return f"记录的 {empty.group(1)} 为空,无法匹配"
        if not step.get("candidates"):
            return "没有候选人"
        if step.get("matched") == 0:
            return "无人符合"
        return "未选出任何人"
    return str(step.get("pool_note") or step.get("note") or "nobody")


def explain(reason: Mapping[str, Any]) -> dict[str, str]:
    """The reason's steps told as ``{zh, en}``: fallbacks first, then why the winner."""
    steps: Sequence[Mapping[str, Any]] = reason.get("steps") or []
    out: dict[str, str] = {}
    for language in ("zh", "en"):
        said: list[str] = []
        for step in steps:
            name = _rule_name(step, language)
            if step.get("user_id") is None:
                said.append(
                    f"「{name}」{_nobody(step, language)}" if language == "zh"
                    else f"“{name}” found nobody ({_nobody(step, language)})"
                )
                continue
            strategy = _STRATEGY.get(str(step.get("strategy")), (step.get("strategy"), step.get("strategy")))
            how = strategy[0] if language == "zh" else strategy[1]
            prefix = (
                ("改用" if said else "") + f"「{name}」({how}):" if language == "zh"
                else ("then " if said else "") + f"“{name}” ({how}): "
            )
            said.append(prefix + _chosen(step, language))
        if not steps or all(s.get("user_id") is None for s in steps):
            said.append("未分配给任何人" if language == "zh" else "nobody was assigned")
        out[language] = (";" if language == "zh" else "; ").join(said)
    return out
