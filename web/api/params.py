"""Small request and response helpers shared by the REST API and the designer's JSON
endpoints (both ``web.api`` and ``web.design`` import them; this module imports neither)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from runtime.errors import Invalid


def export_response(filename: str, definition: Any) -> Response:
    """The definition as a JSON download."""
    body = json.dumps(definition, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def revision_number(name: str, value: str | None, *, allow_draft: bool = False) -> int | str | None:
    """A revision number from the query string (``draft`` where allowed), or a clear 422."""
    if value is None or value == "":
        return None
    if allow_draft and value in ("draft", "published"):
        return value
    if not value.isdigit() or len(value) > 9:
        raise Invalid(
            f"{name} is a revision number" + (" or 'draft'" if allow_draft else "") + ".",
            message_zh=f"{name} 应为版本号" + ("或 draft" if allow_draft else "") + "。",
            errors={name: ["invalid"]},
        )
    return int(value)
