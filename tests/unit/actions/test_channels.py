"""Group robots: exact payloads, signatures (known vectors), delivery and error mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from runtime.automation.channels import dingtalk, feishu, wecom
from runtime.automation.channels.base import (
    DeliveryContext,
    DeliveryError,
    Message,
    Recipients,
    channel_for,
    registered_channels,
    truncate_utf8,
)
from runtime.net.guard import OutboundPolicy
from runtime.settings import Settings
from tests.unit.actions.servers import Answer, http_endpoint

NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000 s
MESSAGE = Message(title="需求确认超时", text="客户 华联超市 已超过 48 小时未确认需求", link="https://cairn.test/r/1")
SETTINGS = Settings(database_url="sqlite://", secret_key="k", instance_path=Path("/tmp"))


def context(url: str | None, secret: str | None = None) -> DeliveryContext:
    return DeliveryContext(
        settings=SETTINGS,
        policy=OutboundPolicy(allowlist=("127.0.0.1",)),
        idempotency_key="7:0",
        now=NOW,
        workspace_id=1,
        webhook_url=url,
        secret=secret,
        timeout_s=2.0,
    )


def test_every_builtin_channel_registers() -> None:
    channel_for("inbox")
    assert set(registered_channels()) >= {"inbox", "email", "wecom", "dingtalk", "feishu"}


# --------------------------------------------------------------------------- WeCom


def test_wecom_markdown_payload() -> None:
    assert wecom.payload(MESSAGE, Recipients()) == {
        "msgtype": "markdown",
        "markdown": {
            "content": "**需求确认超时**\n客户 华联超市 已超过 48 小时未确认需求\n"
                       "[查看 / Open](https://cairn.test/r/1)"
        },
    }


def test_wecom_mentions_switch_to_text_with_mobile_list() -> None:
    body = wecom.payload(MESSAGE, Recipients(mobiles=("13800000000",), mention_all=True))
    assert body == {
        "msgtype": "text",
        "text": {
            "content": "需求确认超时\n客户 华联超市 已超过 48 小时未确认需求\nhttps://cairn.test/r/1",
            "mentioned_mobile_list": ["13800000000", "@all"],
        },
    }


def test_wecom_markdown_is_cut_to_4096_bytes_on_a_character_boundary() -> None:
    body = wecom.payload(Message(title="", text="中" * 3000), Recipients())
    content = body["markdown"]["content"]
    assert len(content.encode()) <= 4096 and content.endswith("…")


# --------------------------------------------------------------------------- DingTalk


def test_dingtalk_signature_known_vector() -> None:
    # base64(HMAC-SHA256(key=secret, "1700000000000\nSEC000test")), computed with openssl.
    assert dingtalk.sign("SEC000test", 1700000000000) == "1hLl2KkRX3rps9FaitIUwaac+CtAFEaP345jvdrTL7c="


def test_dingtalk_signed_url_appends_encoded_timestamp_and_sign() -> None:
    url = dingtalk.signed_url("https://oapi.dingtalk.com/robot/send?access_token=abc", "SEC000test", 1700000000000)
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "access_token": ["abc"],
        "timestamp": ["1700000000000"],
        "sign": ["1hLl2KkRX3rps9FaitIUwaac+CtAFEaP345jvdrTL7c="],
    }
    assert "sign=1hLl2KkRX3rps9FaitIUwaac%2BCtAFEaP345jvdrTL7c%3D" in url


def test_dingtalk_markdown_payload_with_mentions() -> None:
    body = dingtalk.payload(MESSAGE, Recipients(mobiles=("13800000000",)))
    assert body == {
        "msgtype": "markdown",
        "markdown": {
            "title": "需求确认超时",
            "text": "#### 需求确认超时\n\n客户 华联超市 已超过 48 小时未确认需求\n\n"
                    "[查看 / Open](https://cairn.test/r/1)\n\n@13800000000",
        },
        "at": {"atMobiles": ["13800000000"], "isAtAll": False},
    }


def test_dingtalk_delivery_signs_the_url() -> None:
    with http_endpoint() as server:
        url = server.url("/robot/send?access_token=abc")
        channel_for("dingtalk").deliver(context(url, "SEC000test"), MESSAGE, Recipients(mention_all=True))
    (got,) = server.received
    query = parse_qs(urlsplit(got.path).query)
    assert query["timestamp"] == ["1700000000000"]
    assert query["sign"] == ["1hLl2KkRX3rps9FaitIUwaac+CtAFEaP345jvdrTL7c="]
    assert got.headers["content-type"].startswith("application/json")
    assert json.loads(got.body)["at"]["isAtAll"] is True


def test_dingtalk_rate_limit_is_retryable() -> None:
    with http_endpoint() as server:
        server.script(Answer(body=b'{"errcode":130101,"errmsg":"send too fast"}'))
        with pytest.raises(DeliveryError) as info:
            channel_for("dingtalk").deliver(context(server.url()), MESSAGE, Recipients())
    assert info.value.retryable


def test_dingtalk_bad_signature_is_permanent() -> None:
    with http_endpoint() as server:
        server.script(Answer(body=b'{"errcode":310000,"errmsg":"sign not match"}'))
        with pytest.raises(DeliveryError) as info:
            channel_for("dingtalk").deliver(context(server.url()), MESSAGE, Recipients())
    assert not info.value.retryable and "310000" in str(info.value)


# --------------------------------------------------------------------------- Feishu


def test_feishu_signature_known_vector() -> None:
    # base64(HMAC-SHA256(key="1700000000\nfeishu-secret", msg="")), computed with openssl.
    assert feishu.sign("feishu-secret", 1700000000) == "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU="


def test_feishu_post_payload_signed() -> None:
    body = feishu.payload(MESSAGE, Recipients(mention_all=True), secret="feishu-secret", timestamp_s=1700000000)
    assert body == {
        "timestamp": "1700000000",
        "sign": "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU=",
        "msg_type": "post",
        "content": {
            "post": {
                "zh_cn": {
                    "title": "需求确认超时",
                    "content": [
                        [{"tag": "text", "text": "客户 华联超市 已超过 48 小时未确认需求"}],
                        [{"tag": "a", "text": "查看 / Open", "href": "https://cairn.test/r/1"}],
                        [{"tag": "at", "user_id": "all"}],
                    ],
                }
            }
        },
    }


def test_feishu_text_payload() -> None:
    assert feishu.text_payload(Message(title="T", text="body"), Recipients()) == {
        "msg_type": "text",
        "content": {"text": "T\nbody"},
    }


def test_feishu_delivery_and_answer_codes() -> None:
    with http_endpoint() as server:
        server.script(
            Answer(body=b'{"code":0,"msg":"success","data":{}}'),
            Answer(body=b'{"code":11232,"msg":"frequency limited"}'),
            Answer(body=b'{"code":19021,"msg":"sign match fail"}'),
        )
        robot = channel_for("feishu")
        robot.deliver(context(server.url(), "feishu-secret"), MESSAGE, Recipients())
        with pytest.raises(DeliveryError) as limited:
            robot.deliver(context(server.url()), MESSAGE, Recipients())
        with pytest.raises(DeliveryError) as refused:
            robot.deliver(context(server.url()), MESSAGE, Recipients())
    assert json.loads(server.received[0].body)["sign"] == "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU="
    assert limited.value.retryable and not refused.value.retryable


# --------------------------------------------------------------------------- common


def test_wecom_delivery_posts_the_payload() -> None:
    with http_endpoint() as server:
        delivery = channel_for("wecom").deliver(context(server.url("/cgi-bin/webhook/send?key=k")), MESSAGE, Recipients())
    assert delivery.detail["msgtype"] == "markdown"
    assert json.loads(server.received[0].body) == wecom.payload(MESSAGE, Recipients())


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (404, False), (400, False)])
def test_http_errors_map_to_retryable_or_not(status: int, retryable: bool) -> None:
    with http_endpoint() as server:
        server.script(Answer(status=status, body=b"{}"))
        with pytest.raises(DeliveryError) as info:
            channel_for("wecom").deliver(context(server.url()), MESSAGE, Recipients())
    assert info.value.retryable is retryable


def test_robot_url_is_checked_by_the_ssrf_guard() -> None:
    ctx = context("http://169.254.169.254/robot/send")
    with pytest.raises(DeliveryError) as info:
        channel_for("dingtalk").deliver(ctx, MESSAGE, Recipients())
    assert info.value.code == "unsafe_target" and not info.value.retryable


def test_missing_webhook_url_is_permanent() -> None:
    with pytest.raises(DeliveryError) as info:
        channel_for("feishu").deliver(context(None), MESSAGE, Recipients())
    assert not info.value.retryable


def test_truncate_utf8_keeps_whole_characters() -> None:
    assert truncate_utf8("abc", 10) == "abc"
    cut = truncate_utf8("飞书机器人", 8)
    assert len(cut.encode()) <= 8 and cut.endswith("…")
