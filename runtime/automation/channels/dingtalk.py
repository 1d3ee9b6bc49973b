"""DingTalk (钉钉) group robot: ``POST https://oapi.dingtalk.com/robot/send?access_token=…``.

Payload, as documented by DingTalk::

    {"msgtype": "markdown",
     "markdown": {"title": "...", "text": "#### title\\n\\nbody\\n\\n@13800000000"},
     "at": {"atMobiles": ["13800000000"], "isAtAll": false}}

A mention only shows when the text contains ``@<mobile>``, so those are appended. A robot
with "加签" (signing) enabled needs ``&timestamp=<ms>&sign=<sign>`` on the URL, where
``sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")))`` and the
timestamp is within an hour of DingTalk's clock. The robot answers
``{"errcode": 0, "errmsg": "ok"}``; 130101 (more than 20 messages a minute) is worth
retrying later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit

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

TEXT_LIMIT = 20000
TRANSIENT_CODES = (-1, 130101)


def sign(secret: str, timestamp_ms: int) -> str:
    """The base64 (not yet URL-encoded) signature of a signed DingTalk robot."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """``url`` with the ``timestamp`` and ``sign`` query parameters appended."""
    parts = urlsplit(url)
    extra = f"timestamp={timestamp_ms}&sign={quote_plus(sign(secret, timestamp_ms))}"
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def payload(message: Message, recipients: Recipients) -> dict[str, Any]:
    """The Markdown message of ``message`` with its @-mentions."""
    first_line = message.text.strip().splitlines()[0][:40] if message.text.strip() else ""
    title = message.title or first_line or "Cairn"
    lines = [f"#### {message.title}", ""] if message.title else []
    lines.append(message.text)
    if message.link:
        lines += ["", f"[查看 / Open]({message.link})"]
    if recipients.mobiles:
        lines += ["", " ".join(f"@{m}" for m in recipients.mobiles)]
    return {
        "msgtype": "markdown",
        "markdown": {"title": title, "text": truncate_utf8("\n".join(lines), TEXT_LIMIT)},
        "at": {"atMobiles": list(recipients.mobiles), "isAtAll": recipients.mention_all},
    }


class DingTalkRobot:
    """Posts to a DingTalk group robot's webhook, signing the URL when a secret is set."""

    key = "dingtalk"

    def deliver(self, ctx: DeliveryContext, message: Message, recipients: Recipients) -> Delivery:
        """Sends one message to the robot of ``ctx.webhook_url``."""
        if not ctx.webhook_url:
            raise DeliveryError("dingtalk: no webhook_url", retryable=False, code="not_configured")
        url = ctx.webhook_url
        if ctx.secret:
            url = signed_url(url, ctx.secret, int(ctx.now.timestamp() * 1000))
        robot_post(ctx, url, payload(message, recipients), self.key,
                   errcode_check(self.key, TRANSIENT_CODES))
        return Delivery(self.key, sent_to=recipients.mobiles, detail={"signed": bool(ctx.secret)})


register_channel(DingTalkRobot())
