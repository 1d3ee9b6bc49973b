"""Reading JSON request bodies safely and loading them through schemas.

Every JSON body of the API is read by :func:`json_body`, which refuses — before any
per-key work of the runtime (coercion, validation, auditing) — a body that is:

- larger than :data:`MAX_JSON_BYTES` (413 ``payload_too_large``), checked against the
  declared ``Content-Length`` before the body is read and against the bytes read;
- nested deeper than :data:`MAX_JSON_DEPTH` or holding more than :data:`MAX_JSON_MEMBERS`
  object members and array items in all (422 ``payload_too_complex``); the walk that
  counts stops at the first member over the limit, so its work is bounded by the limit;
- carrying text that no database can store: a NUL character or a lone UTF-16 surrogate
  (``"\\ud800"``) in any key or value (422 ``invalid_text``).

App definitions are the exception: ``builder.limits`` bounds them the same way, with
limits of their own and a problem per JSON path.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from runtime.errors import Invalid, PayloadTooLarge
from runtime.values import text_problem

MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_JSON_MEMBERS = 20_000


def _too_large(size: int | None) -> PayloadTooLarge:
    limit_mb = MAX_JSON_BYTES // (1024 * 1024)
    return PayloadTooLarge(
        f"The JSON body is larger than {limit_mb} MB; send less data per request (upload files separately).",
        message_zh=f"JSON 请求体超过 {limit_mb} MB,请减少每次提交的数据量(文件请单独上传)。",
        detail={"limit_bytes": MAX_JSON_BYTES, **({"bytes": size} if size is not None else {})},
    )


def _too_complex(what: str, limit: int) -> Invalid:
    if what == "depth":
        en = f"The JSON body is nested more than {limit} levels deep; send a flatter document."
        zh = f"JSON 请求体嵌套超过 {limit} 层,请提交更扁平的文档。"
    else:
        en = f"The JSON body holds more than {limit} keys and list items; send fewer values per request."
        zh = f"JSON 请求体的键和列表项总数超过 {limit} 个,请减少每次提交的值。"
    return Invalid(en, message_zh=zh, detail={"limit": limit, "exceeded": what}, code="payload_too_complex")


def _bad_text(path: str, reason: tuple[str, str]) -> Invalid:
    en, zh = reason
    return Invalid(
        f"The JSON body has text that can't be stored at {path}: {en}.",
        message_zh=f"JSON 请求体 {path} 处含有无法保存的文本:{zh}。",
        errors={path: [en]},
        code="invalid_text",
    )


def check_document(document: Any, max_members: int = MAX_JSON_MEMBERS) -> None:
    """Refuses a parsed document over the depth or member limits, or with unstorable text.

    Iterative and stopping at the first problem: it never visits more than
    ``max_members`` + 1 members, whatever the document holds. A member's JSON path
    (``$.a[0].b``) is only spelled out for the error: the walk keeps (parent, key) links.
    """
    members = 0
    stack: list[tuple[Any, int, _Path]] = [(document, 1, None)]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise _bad_text(_spell(path), problem)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_complex("depth", MAX_JSON_DEPTH)
        members += len(value)
        if members > max_members:
            raise _too_complex("members", max_members)
        if isinstance(value, dict):
            for key, item in value.items():
                problem = text_problem(key)
                if problem:
                    raise _bad_text(_spell(path), problem)
                stack.append((item, depth + 1, (path, key)))
        else:
            stack.extend((item, depth + 1, (path, i)) for i, item in enumerate(value))


#: A member's place in a document: None for the root, else (parent's place, key or index).
_Path = tuple[Any, "str | int"] | None


def _spell(path: _Path) -> str:
    """``$.a[0].b`` for a (parent, key) chain (object keys cut to 100 characters)."""
    parts: list[str] = []
    while path is not None:
        path, key = path
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key[:100]}")
    return "$" + "".join(reversed(parts))


def json_body(*, required: bool = True, definition: bool = False) -> Any:
    """The request's JSON document; a clear 4xx error if it is not JSON or over the limits.

    ``definition=True`` (app definitions) leaves the size to the upload limit and depth,
    members and text to the definition's own limits (``builder.limits``, the same kind of
    bounded walk), which report every problem with its JSON path.
    """
    declared = request.content_length
    if not definition and declared is not None and declared > MAX_JSON_BYTES:
        raise _too_large(declared)
    raw = request.get_data(cache=True)
    if not definition and len(raw) > MAX_JSON_BYTES:
        raise _too_large(len(raw))
    if not raw:
        if required:
            raise Invalid(
                "Send a JSON request body (Content-Type: application/json).",
                message_zh="请发送 JSON 格式的请求体(Content-Type: application/json)。",
                code="invalid_json",
            )
        return {}
    try:
        document = json.loads(raw)
    except RecursionError:
        raise _too_complex("depth", MAX_JSON_DEPTH) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(
            f"The request body is not valid JSON: {exc}", message_zh="请求体不是有效的 JSON。", code="invalid_json"
        ) from None
    if not definition:
        check_document(document)
    return document


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
