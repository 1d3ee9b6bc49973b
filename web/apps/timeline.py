"""The timeline of a record as a page shows it (S24): who did what, when, to which record.

Events come from :meth:`runtime.records.RecordService.timeline` (the record's audit events
and its related records' the reader may read, in time order). Here they get labels in the
reader's language, linked records' titles and users' names (batch-loaded through
:class:`runtime.reads.RecordReads`, so a link to a record the reader may not read shows as
``#id``), step completions as "✓ step", and photo ids as thumbnails.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from builder.model import Entity, Field, FieldType
from runtime.apps import PublishedApp
from runtime.reads import RecordReads
from web.apps.present import link_titles, local_time, parse_time
from web.i18n import language, text

DONE_PREFIX = "_done_"
MAX_TEXT = 300


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _pair(value: Any) -> tuple[Any, Any]:
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    return None, value


def timeline_rows(reads: RecordReads, app: PublishedApp, events: list[dict[str, Any]], tz: tzinfo) -> list[dict[str, Any]]:
    """Events ready for the template (oldest first, as given)."""
    link_ids: dict[str, set[int]] = {}
    user_ids: set[int] = set()
    for event in events:
        entity = app.definition.entity(event["entity"])
        for key, pair in (event.get("changes") or {}).items():
            f = entity.field(key) if entity else None
            _before, after = _pair(pair)
            if f is not None and f.type is FieldType.LINK and f.target and isinstance(after, int):
                link_ids.setdefault(f.target, set()).add(after)
            elif (f is not None and f.type is FieldType.USER or key == "owner") and isinstance(after, int):
                user_ids.add(after)
    titles = link_titles(reads, app, link_ids)
    users = reads.user_names(user_ids)
    rows = []
    for event in events:
        entity = app.definition.entity(event["entity"])
        url = None
        if entity is not None and event.get("record_id") and event["action"] != "delete":
            url = url_for("apps.record_detail", app_key=app.key, entity_key=entity.key, record_id=event["record_id"])
        rows.append(
            {
                "at": local_time(parse_time(event["at"]), tz),
                "actor": event.get("actor_name") or _("Automation"),
                "entity": text(entity.label) if entity else event["entity"],
                "entity_key": event["entity"],
                "record_id": event.get("record_id"),
                "action": event["action"],
                "outcome": event["outcome"],
                "message": event.get("message_zh") if language() == "zh" else event.get("message"),
                "changes": _changes(entity, event.get("changes") or {}, titles, users),
                "url": url,
            }
        )
    return rows


def _changes(
    entity: Entity | None,
    changes: Mapping[str, Any],
    titles: Mapping[tuple[str, int], str],
    users: Mapping[int, str],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    steps_done: list[dict[str, Any]] = []
    for key, pair in changes.items():
        before, after = _pair(pair)
        if key.startswith(DONE_PREFIX):
            step = entity.step(key[len(DONE_PREFIX) :]) if entity else None
            if step is not None and not _blank(after):
                steps_done.append({"key": key, "label": "✓ " + text(step.label), "type": "step", "value": _("done"), "files": []})
            continue
        if key.startswith("_") or key in ("stage_entered_at", "updated_at", "version") or (_blank(before) and _blank(after)):
            continue
        f = entity.field(key) if entity else None
        if key == "stage" and entity is not None:
            stage = entity.stage(str(after)) if after else None
            out.append({"key": key, "label": _("Stage"), "type": "stage", "value": text(stage.label) if stage else "—", "files": []})
            continue
        if key == "owner":
            out.append({"key": key, "label": _("Owner"), "type": "user", "value": users.get(after, "—") if isinstance(after, int) else "—", "files": []})
            continue
        is_file = f is not None and f.type in (FieldType.PHOTO, FieldType.FILE)
        out.append(
            {
                "key": key,
                "label": text(f.label) if f else key,
                "type": f.type.value if f else None,
                "value": _value(f, after, titles, users),
                "files": [v for v in after if isinstance(v, int)] if is_file and isinstance(after, list) else [],
            }
        )
    return out + steps_done


def _value(f: Field | None, value: Any, titles: Mapping[tuple[str, int], str], users: Mapping[int, str]) -> str:
    if _blank(value):
        return "—"
    if f is not None:
        if f.type is FieldType.CHOICE:
            for option in f.options:
                if option.value == value:
                    return text(option.label) if option.label else option.value
        if f.type is FieldType.LINK and f.target and isinstance(value, int):
            return titles.get((f.target, value), f"#{value}")
        if f.type is FieldType.USER and isinstance(value, int):
            return users.get(value, f"#{value}")
        if f.type is FieldType.BOOLEAN:
            return "✓" if value else "✗"
    if isinstance(value, dict) and {"lat", "lng"} <= set(value):
        try:
            return f"{float(value['lat']):.5f}, {float(value['lng']):.5f}"
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    shown = str(value)
    return shown if len(shown) <= MAX_TEXT else shown[: MAX_TEXT - 1] + "…"
