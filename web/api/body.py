"""Reading JSON request bodies safely and loading them through schemas."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from runtime.errors import Invalid


def json_body(*, required: bool = True) -> Any:
    """The request's JSON document; a clear 422/400-style error if it is not JSON."""
    raw = request.get_data(cache=True)
    if not raw:
        if required:
            raise Invalid(
                "Send a JSON request body (Content-Type: application/json).",
                message_zh="请发送 JSON 格式的请求体(Content-Type: application/json)。",
                code="invalid_json",
            )
        return {}
    try:
        return json.loads(raw)
    except RecursionError:
        raise Invalid(
            "The JSON document is nested too deeply.", message_zh="JSON 文档嵌套层级过深。", code="invalid_json"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(
            f"The request body is not valid JSON: {exc}", message_zh="请求体不是有效的 JSON。", code="invalid_json"
        ) from None


def load(schema: Schema, data: Any | None = None) -> Any:
    """``data`` (default: the JSON body) loaded through ``schema``; 422 with per-field errors."""
    document = json_body(required=False) if data is None else data
    if not isinstance(document, dict):
        raise Invalid("Send a JSON object.", message_zh="请发送 JSON 对象。", code="invalid_json")
    try:
        return schema.load(document)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_": error.messages}
        errors = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in messages.items()}
        raise Invalid(
            "The request is not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items()),
            message_zh="请求内容无效。",
            errors=errors,
        ) from None
