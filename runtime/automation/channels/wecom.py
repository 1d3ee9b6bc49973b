"""WeCom (企业微信) group robot: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``.

Payloads, as documented by WeCom:

- markdown: ``{"msgtype": "markdown", "markdown": {"content": "..."}}`` (content at most
  4096 UTF-8 bytes; Markdown can't @-mention by phone number);
- text: ``{"msgtype": "text", "text": {"content": "...", "mentioned_mobile_list": [...]}}``
  (content at most 2048 bytes; ``"@all"`` in the list mentions everyone).

So a message that must @-mention people is sent as text, otherwise as Markdown. The robot
answers ``{"errcode": 0, "errmsg": "ok"}``; 45009 (rate limit) and -1 (busy) are worth
retrying.
"""

from __future__ import annotations

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

MARKDOWN_LIMIT = 4096
TEXT_LIMIT = 2048
TRANSIENT_CODES = (-1, 45009)


def markdown_payload(message: Message) -> dict[str, Any]:
    """The Markdown message of ``message``."""
    parts = [f"**{message.title}**"] if message.title else []
    parts.append(message.text)
    if message.link:
        parts.append(f"[查看 / Open]({message.link})")
    return {
        "msgtype": "markdown",
        "markdown": {"content": truncate_utf8("\n".join(parts), MARKDOWN_LIMIT)},
    }


def text_payload(message: Message, recipients: Recipients) -> dict[str, Any]:
    """The text message of ``message``, @-mentioning the recipients' phone numbers."""
    parts = [message.title] if message.title else []
    parts.append(message.text)
    if message.link:
        parts.append(message.link)
    mobiles = list(recipients.mobiles)
    if recipients.mention_all:
        mobiles.append("@all")
    text: dict[str, Any] = {"content": truncate_utf8("\n".join(parts), TEXT_LIMIT)}
    if mobiles:
        text["mentioned_mobile_list"] = mobiles
    return {"msgtype": "text", "text": text}


def payload(message: Message, recipients: Recipients) -> dict[str, Any]:
    """Text when someone must be @-mentioned, Markdown otherwise."""
    if recipients.mobiles or recipients.mention_all:
        return text_payload(message, recipients)
    return markdown_payload(message)


class WeComRobot:
    """Posts to a WeCom group robot's webhook."""

    key = "wecom"

    def deliver(self, ctx: DeliveryContext, message: Message, recipients: Recipients) -> Delivery:
        """Sends one message to the robot of ``ctx.webhook_url``."""
        if not ctx.webhook_url:
            raise DeliveryError("wecom: no webhook_url", retryable=False, code="not_configured")
        body = payload(message, recipients)
        robot_post(ctx, ctx.webhook_url, body, self.key, errcode_check(self.key, TRANSIENT_CODES))
        return Delivery(self.key, sent_to=recipients.mobiles, detail={"msgtype": body["msgtype"]})


register_channel(WeComRobot())
