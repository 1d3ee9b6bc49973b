"""Feishu (飞书) custom group robot: ``POST https://open.feishu.cn/open-apis/bot/v2/hook/…``.

Payloads, as documented by Feishu:

- text: ``{"msg_type": "text", "content": {"text": "..."}}`` (``<at user_id="all">所有人</at>``
  mentions everyone);
- post (rich text, used here): ``{"msg_type": "post", "content": {"post": {"zh_cn":
  {"title": "...", "content": [[{"tag": "text", "text": "..."}], [{"tag": "a", ...}]]}}}}``.

A robot with signature verification needs ``"timestamp": "<seconds>"`` and ``"sign"`` in
the body, ``sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))``. The robot
answers ``{"code": 0, "msg": "success"}`` (older robots ``{"StatusCode": 0}``); 11232 and
9499 / 99991400 (rate limits) are worth retrying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from runtime.automation.channels.base import (
    Delivery,
    DeliveryContext,
    DeliveryError,
    Message,
    Recipients,
    errcode_check,
    register_channel,
    robot_post,
    truncate_utf8,
)

TEXT_LIMIT = 30000
TRANSIENT_CODES = (9499, 11232, 99991400)


def sign(secret: str, timestamp_s: int) -> str:
    """The signature of a signed Feishu robot for ``timestamp_s`` (seconds)."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def text_payload(message: Message, recipients: Recipients) -> dict[str, Any]:
    """The plain-text message of ``message``."""
    parts = [message.title] if message.title else []
    parts.append(message.text)
    if message.link:
        parts.append(message.link)
    text = "\n".join(parts)
    if recipients.mention_all:
        text += ' <at user_id="all">所有人</at>'
    return {"msg_type": "text", "content": {"text": truncate_utf8(text, TEXT_LIMIT)}}


def post_payload(message: Message, recipients: Recipients) -> dict[str, Any]:
    """The rich-text ("post") message of ``message``: one paragraph per line."""
    paragraphs: list[list[dict[str, Any]]] = [
        [{"tag": "text", "text": line}] for line in truncate_utf8(message.text, TEXT_LIMIT).splitlines()
    ] or [[{"tag": "text", "text": ""}]]
    if message.link:
        paragraphs.append([{"tag": "a", "text": "查看 / Open", "href": message.link}])
    if recipients.mention_all:
        paragraphs.append([{"tag": "at", "user_id": "all"}])
    return {
        "msg_type": "post",
        "content": {"post": {"zh_cn": {"title": message.title, "content": paragraphs}}},
    }


def payload(
    message: Message, recipients: Recipients, *, secret: str | None = None, timestamp_s: int = 0
) -> dict[str, Any]:
    """The message to post: rich text, with ``timestamp`` and ``sign`` when signing."""
    body = post_payload(message, recipients)
    if secret:
        return {"timestamp": str(timestamp_s), "sign": sign(secret, timestamp_s), **body}
    return body


class FeishuRobot:
    """Posts to a Feishu custom robot's webhook, signing the body when a secret is set."""

    key = "feishu"

    def deliver(self, ctx: DeliveryContext, message: Message, recipients: Recipients) -> Delivery:
        """Sends one message to the robot of ``ctx.webhook_url``."""
        if not ctx.webhook_url:
            raise DeliveryError("feishu: no webhook_url", retryable=False, code="not_configured")
        body = payload(message, recipients, secret=ctx.secret, timestamp_s=int(ctx.now.timestamp()))
        robot_post(ctx, ctx.webhook_url, body, self.key,
                   errcode_check(self.key, TRANSIENT_CODES, code_key="code", msg_key="msg"))
        return Delivery(self.key, detail={"signed": bool(ctx.secret)})


register_channel(FeishuRobot())
