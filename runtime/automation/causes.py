"""Why a run did not succeed: a short cause key per run, with a readable reason in zh and en.

The rule-health board groups failures by cause (S11: "the owner has no manager" is found in
minutes, not by reading error texts). A cause is decided when the run finishes:

* an action that was **skipped** for a reason that means the rule did not do its job (no
  recipient, a missing manager, nobody to assign) names its cause in its ``detail``;
* a failed action's error text is classified by :func:`cause_of_error`;
* the loop cut is ``loop_cut``;
* a job whose worker died :data:`~runtime.automation.jobs.MAX_EXPIRED_CLAIMS` times is
  ``worker_died``.

Skips that are not failures (``set_field`` to the value the field already has) carry no cause.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """One cause: its key and what it means, in English and Chinese."""

    key: str
    en: str
    zh: str

    def as_json(self) -> dict[str, str]:
        """``{"cause", "reason", "reason_zh"}``."""
        return {"cause": self.key, "reason": self.en, "reason_zh": self.zh}


CAUSES: dict[str, Cause] = {
    c.key: c
    for c in (
        Cause("missing_manager", "The record's owner has no manager, so nobody received the message.",
              "记录负责人没有设置上级,消息无人接收。"),
        Cause("no_recipient", "Nobody to notify: the recipients resolved to no active user or address.",
              "没有收件人:收件人没有解析到任何在职用户或地址。"),
        Cause("nobody_to_assign", "The assignment rule and its fallbacks found nobody to assign.",
              "分配规则及其后备规则都没有找到可分配的人。"),
        Cause("invalid_write", "A write of the action was refused as invalid.",
              "动作的写入因数据无效被拒绝。"),
        Cause("record_missing", "The record no longer exists.", "记录已不存在。"),
        Cause("delivery_failed", "The message or webhook could not be delivered.",
              "消息或 Webhook 未能送达。"),
        Cause("loop_cut", "Stopped by the loop cut: triggers kept firing each other.",
              "被循环保护截断:触发器之间反复相互触发。"),
        Cause("unpublished", "The rule is no longer published.", "该规则已不再发布。"),
        Cause("not_in_rollout", "Not fired: the record's owner and the writer are outside the rule's rollout group.",
              "未触发:记录负责人和写入人都不在规则的灰度发布范围内。"),
        Cause("worker_died", "The worker running the job died (or hung past its lease) too many times, so the job "
              "is no longer claimed; retry it once the cause (e.g. memory) is fixed.",
              "执行该任务的工作进程多次中途退出(或超过租约仍无响应),任务不再被领取;排除原因(如内存不足)后可重试。"),
        Cause("error", "Another error; open the run to read it.", "其他错误;请打开运行记录查看。"),
    )
}

#: Action skip reasons (``detail["reason"]``) that mean the rule failed, with their cause.
FAILING_SKIPS = {
    "nobody to notify": "no_recipient",
    "nobody to assign": "nobody_to_assign",
}


def cause(key: str | None) -> Cause:
    """The :class:`Cause` of ``key`` (``error`` for an unknown or empty key)."""
    return CAUSES.get(key or "error", CAUSES["error"])


def cause_of_error(message: str | None) -> str:
    """The cause of a failed action from its error text (``"<code>: <message>"``)."""
    text = (message or "").lower()
    if text.startswith("validation_failed") or text.startswith("invalid"):
        return "invalid_write"
    if "no longer exists" in text or text.startswith("not_found"):
        return "record_missing"
    if "loop cut" in text:
        return "loop_cut"
    if text.startswith("action_transient") or text.startswith("action_permanent: ["):
        return "delivery_failed"
    return "error"


def missing_recipient_cause(to: str | None, notes: tuple[str, ...] | list[str]) -> str:
    """``missing_manager`` when the ``to`` expression was a manager path that came out empty
    (``owner.manager`` on a rep without a manager), else ``no_recipient``."""
    if to and to.replace(" ", "").split(".")[-1] == "manager" and any("is empty" in n for n in notes):
        return "missing_manager"
    return "no_recipient"
