"""Message templates of notify / prompt / report actions: ``{field}`` placeholders.

A placeholder names a field of the record (``{name}``, ``{stage}``, ``{id}``); unknown names
are left as they are, ``{{`` and ``}}`` give literal braces. Nothing else is interpreted —
there is no attribute access and no format specification, so a template can't reach into
Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z][a-z0-9_]{0,62})\}")


def display(value: Any, tz: tzinfo | None = None) -> str:
    """How a field value reads inside a message."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(tz or UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list | tuple):
        return ", ".join(display(v, tz) for v in value)
    return str(value)


def placeholders(template: str) -> list[str]:
    """The field names ``template`` refers to, in order of first use (braces ``{{ }}`` skipped)."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name and name not in names:
            names.append(name)
    return names


def render(template: str, record: Mapping[str, Any] | None, tz: tzinfo | None = None) -> str:
    """``template`` with ``{field}`` replaced by the record's values."""
    values = record or {}

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name not in values:
            return token
        return display(values[name], tz)

    return _PLACEHOLDER.sub(replace, template)
