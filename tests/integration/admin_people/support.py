"""Shared pieces of the people-and-access tests: an app declaring its own role, page posts."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask.testing import FlaskClient

from tests.integration.browser_session import csrf_token


def books_app(*, with_auditor: bool = True) -> dict[str, Any]:
    """Invoices an ``auditor`` may only read (in 华东), payroll it may not see at all."""
    invoice_permissions: list[dict[str, Any]] = [{"role": "rep"}, {"role": "manager"}]
    roles = ["admin", "manager", "rep"]
    if with_auditor:
        roles.append("auditor")
        invoice_permissions.append(
            {"role": "auditor", "create": False, "update": False, "delete": False, "read_when": 'region == "华东"'}
        )
    text = {"type": "text"}
    return {
        "format": "cairn.app/1",
        "key": "books",
        "label": {"zh": "账本", "en": "Books"},
        "roles": roles,
        "entities": [
            {
                "key": "invoice",
                "label": {"zh": "发票", "en": "Invoice"},
                "title_field": "name",
                "fields": [
                    {"key": "name", **text, "label": {"zh": "名称", "en": "Name"}},
                    {"key": "region", **text, "label": {"zh": "区域", "en": "Region"}},
                ],
                "permissions": invoice_permissions,
            },
            {
                "key": "payroll",
                "label": {"zh": "工资", "en": "Payroll"},
                "title_field": "name",
                "fields": [{"key": "name", **text, "label": {"zh": "名称", "en": "Name"}}],
                "permissions": [{"role": "manager"}],
            },
        ],
    }


def post_form(client: FlaskClient, path: str, data: dict[str, Any], *, lang: str = "en") -> Any:
    """Posts a page form with the session's CSRF token (``lang`` picks the answer's language)."""
    token = csrf_token(client, "/")
    return client.post(path, data={**data, "csrf_token": token}, headers={"Accept-Language": lang})


def text_of(response: Any) -> str:
    """The answer's HTML with tags removed and whitespace folded (for 'the page says …')."""
    html = response.get_data(as_text=True)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
