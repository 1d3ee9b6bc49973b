"""Maps every error to HTTP in one place: problem+json for the API, pages for browsers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from builder.errors import DefinitionInvalid
from runtime.errors import CairnError
from web.i18n import language

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def wants_json() -> bool:
    """API paths (also the designer's ``/design/api``) and JSON clients get problem+json;
    pages get HTML."""
    if request.path.startswith(("/api/", "/design/api/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    detail_zh: str | None = None,
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """An ``application/problem+json`` response (RFC 9457) with Cairn's ``code`` member."""
    body: dict[str, Any] = {
        "type": f"https://cairn.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "detail_zh": detail_zh or detail,
        "errors": errors or {},
    }
    if extra:
        body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


PAGE_TITLES = {
    400: ("Can't do that", "无法完成"),
    401: ("Sign in first", "请先登录"),
    403: ("Not allowed", "无权操作"),
    404: ("Not found", "未找到"),
    409: ("Changed meanwhile", "已被修改"),
    422: ("Can't do that", "无法完成"),
}
"""Titles of error pages for domain errors, per status (the detail says what happened)."""


def in_language(en: str, zh: str | None, lang: str | None = None) -> str:
    """``en`` or ``zh`` by ``lang`` (default: the request's language)."""
    return (zh or en) if (lang or language()) == "zh" else en


def localized_fields(fields: dict[str, dict[str, Any]], lang: str | None = None) -> dict[str, dict[str, Any]]:
    """The runtime's per-field messages with ``text``: the message in the request's language."""
    lang = lang or language()
    return {key: {**value, "text": in_language(value["message"], value.get("message_zh"), lang)} for key, value in fields.items()}


def field_texts(exc: CairnError, lang: str | None = None) -> dict[str, list[str]]:
    """Per field, what a person reads next to it: the labelled message in their language.

    Keys the error names without a labelled message (rule keys, ``stage``) keep their
    short reason.
    """
    lang = lang or language()
    texts = {key: list(value) for key, value in exc.errors.items()}
    for key, value in exc.fields.items():
        texts[key] = [in_language(value["message"], value.get("message_zh"), lang)]
    return texts


def _page(status: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, detail=detail), status


def handle_cairn_error(exc: CairnError) -> Any:
    """Domain errors of the runtime."""
    if wants_json():
        lang = language()
        extra: dict[str, Any] = {"lang": lang, "message": in_language(exc.message, exc.message_zh, lang)}
        if exc.fields:
            extra["fields"] = localized_fields(exc.fields, lang)
        if exc.detail:
            extra["detail_data"] = exc.detail
        # Some refusals carry members of their own (the designer's draft_conflict: current).
        extra.update(getattr(exc, "members", None) or {})
        response = problem(
            exc.status,
            exc.code,
            exc.__class__.__name__,
            exc.message,
            detail_zh=exc.message_zh,
            errors=exc.errors,
            extra=extra,
        )
    else:
        title_en, title_zh = PAGE_TITLES.get(exc.status, ("Can't do that", "无法完成"))
        page, status = _page(exc.status, in_language(title_en, title_zh), in_language(exc.message, exc.message_zh))
        response = Response(page, status=status, mimetype="text/html")
    if exc.status == 429 and "retry_after" in exc.detail:
        response.headers["Retry-After"] = str(exc.detail["retry_after"])
    return response


def handle_definition_invalid(exc: DefinitionInvalid) -> Any:
    """An app definition with problems: every problem is listed with its JSON path."""
    problems = [
        {
            "path": p.path,
            "code": p.code,
            "message": p.message,
            "message_zh": p.message_zh,
            **({"detail": p.detail} if getattr(p, "detail", None) else {}),
        }
        for p in exc.problems
    ]
    errors: dict[str, list[str]] = {}
    for p in exc.problems:
        errors.setdefault(p.path, []).append(p.message)
    count = len(problems)
    return problem(
        422,
        "definition_invalid",
        "Invalid app definition",
        f"The app definition has {count} problem(s); fix them and import it again.",
        detail_zh=f"应用定义有 {count} 个问题,请修正后重新导入。",
        errors=errors,
        extra={"problems": problems},
    )


def handle_http(exc: HTTPException) -> Any:
    """Werkzeug's HTTP errors (404 route, 405, 413 too large, CSRF 400 ...)."""
    status = exc.code or 500
    code = {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        429: "too_many_requests",
    }.get(status, "http_error")
    description = exc.description or exc.name
    # The exception's own headers carry what the status promises: Allow on 405 (RFC 9110
    # 15.5.6), Retry-After on 429 ... Only its Content-Type is ours to choose.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if wants_json():
        response = problem(status, code, exc.name, description)
        response.headers.extend(headers)
        return response
    page, status = _page(status, exc.name, description)
    return page, status, headers


def handle_unexpected(exc: Exception) -> Any:
    """A bug: log it with its traceback and answer 500 without leaking internals."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    detail = "Something went wrong on our side; the error was logged. Try again later."
    if wants_json():
        return problem(500, "internal_error", "Internal Server Error", detail, detail_zh="服务器内部错误,已记录日志,请稍后再试。")
    return _page(500, "Internal Server Error", detail)


def init_app(app: Flask) -> None:
    """Registers the handlers."""
    app.register_error_handler(CairnError, handle_cairn_error)
    app.register_error_handler(DefinitionInvalid, handle_definition_invalid)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
