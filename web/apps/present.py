"""How record values look on a page: titles, linked records' names, users, files, times.

Lookups are batched per page (one query per link target, one for users, one for files),
so a list of fifty rows costs a handful of queries, not fifty. They go through
:class:`runtime.reads.RecordReads`, which applies the reader's row conditions: a link to a
record the reader may not read shows no title (``#id``), and a file the reader may not
read shows no name and no thumbnail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from builder.model import Entity, Field, FieldType
from expressions.scope import Location
from runtime.apps import PublishedApp
from runtime.files import DEFAULT_ACCEPT, PHOTO_ACCEPT
from runtime.models import FileRow
from runtime.reads import RecordReads
from web.i18n import text


def title_of(entity: Entity, record: Mapping[str, Any]) -> str:
    """A record's title: its ``title_field`` value, else ``<entity label> #id``."""
    if entity.title_field:
        value = record.get(entity.title_field)
        if value not in (None, ""):
            return str(value)
    return f"{text(entity.label)} #{record.get('id')}"


@dataclass
class References:
    """Names of what a page's records point to: linked records, users and files."""

    titles: dict[tuple[str, int], str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)
    files: dict[int, FileRow] = field(default_factory=dict)

    def title(self, entity: str, record_id: int) -> str:
        """The title of a linked record (``#id`` if it is gone or the reader may not read it)."""
        return self.titles.get((entity, record_id), f"#{record_id}")

    def user(self, user_id: int | None) -> str:
        """A user's name."""
        if user_id is None:
            return ""
        return self.users.get(user_id, f"#{user_id}")


def resolve(
    reads: RecordReads,
    app: PublishedApp,
    entity: Entity,
    records: Iterable[Mapping[str, Any]],
) -> References:
    """Batch-loads the names the ``records`` of ``entity`` refer to, as the reader may see them."""
    rows = list(records)
    refs = References()
    link_ids: dict[str, set[int]] = {}
    user_ids: set[int] = set()
    file_ids: set[int] = set()
    for record in rows:
        for key in ("owner", "created_by"):
            if isinstance(record.get(key), int):
                user_ids.add(record[key])
        for f in entity.fields:
            value = record.get(f.key)
            if value is None:
                continue
            if f.type is FieldType.LINK and f.target and isinstance(value, int):
                link_ids.setdefault(f.target, set()).add(value)
            elif f.type is FieldType.USER and isinstance(value, int):
                user_ids.add(value)
            elif f.type in (FieldType.PHOTO, FieldType.FILE) and isinstance(value, list | tuple):
                file_ids.update(int(v) for v in value if isinstance(v, int))
    refs.titles.update(link_titles(reads, app, link_ids))
    refs.users.update(reads.user_names(user_ids))
    shown = [int(r["id"]) for r in rows if isinstance(r.get("id"), int)]
    refs.files.update(reads.files(file_ids, near={entity.key: shown}))
    return refs


def link_titles(reads: RecordReads, app: PublishedApp, link_ids: Mapping[str, Iterable[int]]) -> dict[tuple[str, int], str]:
    """Titles of linked records the reader may read, one query per target entity.

    A link to a record the reader may not read gets no title here, so it shows as
    ``#id`` — exactly like a link to a record that no longer exists: a visit the rep may
    read does not tell the name of a customer of another region.
    """
    titles: dict[tuple[str, int], str] = {}
    for (target, rid), title in reads.link_titles(link_ids).items():
        target_entity = app.definition.entity(target)
        label = text(target_entity.label) if target_entity else target
        titles[(target, rid)] = str(title) if title not in (None, "") else f"{label} #{rid}"
    return titles


def local_time(value: datetime | None, tz: tzinfo) -> str:
    """A datetime in the workspace's zone, to the minute."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def parse_time(value: Any) -> datetime | None:
    """A datetime from a Python value or an ISO string (naive means UTC)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def option_label(f: Field, value: str) -> str:
    """The label of a choice option in the request's language (its value if unlabeled)."""
    for option in f.options:
        if option.value == value:
            return text(option.label) if option.label else option.value
    return value


def display(f: Field, value: Any, refs: References, tz: tzinfo) -> str:
    """A field's value as plain text (templates escape it)."""
    if value is None or value == "" or value == []:
        return ""
    kind = f.type
    if kind is FieldType.CHOICE:
        return option_label(f, str(value))
    if kind is FieldType.MULTI_CHOICE and isinstance(value, list | tuple):
        return "、".join(option_label(f, str(v)) for v in value)
    if kind is FieldType.BOOLEAN:
        return "✓" if value else "✗"
    if kind is FieldType.LINK and f.target and isinstance(value, int):
        return refs.title(f.target, value)
    if kind is FieldType.USER and isinstance(value, int):
        return refs.user(value)
    if kind is FieldType.DATETIME:
        return local_time(parse_time(value), tz)
    if kind is FieldType.DATE and isinstance(value, date):
        return value.isoformat()
    if kind is FieldType.DURATION and isinstance(value, timedelta):
        return _duration(value)
    if kind is FieldType.LOCATION and isinstance(value, Location):
        acc = f" ±{value.accuracy:.0f} m" if value.accuracy is not None else ""
        return f"{value.lat:.5f}, {value.lng:.5f}{acc}"
    if kind is FieldType.PERCENT and isinstance(value, Decimal):
        return f"{value.normalize():f} %"
    if kind is FieldType.MONEY and isinstance(value, Decimal):
        return f"¥{value:,.2f}"
    if kind is FieldType.RATING and isinstance(value, int):
        top = int(f.max) if f.max is not None else 5
        return "★" * value + "☆" * max(0, top - value)
    if kind in (FieldType.PHOTO, FieldType.FILE) and isinstance(value, list | tuple):
        return ", ".join(refs.files[v].filename if v in refs.files else f"#{v}" for v in value)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def card_groups(entity: Entity) -> list[dict[str, Any]]:
    """The form's cards: fields outside any step first, then one card per step in order."""
    in_steps = {k for s in entity.steps for k in s.fields}
    loose = [f for f in entity.fields if f.key not in in_steps]
    groups: list[dict[str, Any]] = []
    if loose:
        groups.append({"step": None, "fields": loose})
    for step in entity.steps:
        fields = [f for f in (entity.field(k) for k in step.fields) if f is not None]
        groups.append({"step": step, "fields": fields})
    return groups


def form_context(
    entity: Entity,
    form: Any,
    state: Mapping[str, Any],
    *,
    urls: Mapping[str, str],
    action: str,
    refs: References,
    users: list[tuple[int, str]],
    tz: tzinfo,
    upload_url: Callable[[str], str],
    lookup_url: Callable[[str], str],
    file_url: Callable[[int], str],
) -> dict[str, Any]:
    """What ``apps/_record_form.html`` (the cards, the stage bar, the messages) needs.

    The record pages and the designer's phone preview render the same partial from this;
    a page adds its own ``record``, ``message``, ``errors``, ``prompts`` ... on top.
    """
    return {
        "entity": entity,
        "form": form,
        "state": state,
        "record": None,
        "groups": card_groups(entity),
        "refs": refs,
        "users": users,
        "errors": {},
        "message": None,
        "failed_card": None,
        "stage_error": None,
        "prompts": [],
        "urls": urls,
        "action": action,
        "tz": tz,
        "display": display,
        "photo_accept": ",".join(PHOTO_ACCEPT),
        "file_accept": ",".join(DEFAULT_ACCEPT),
        "upload_url": upload_url,
        "lookup_url": lookup_url,
        "file_url": file_url,
        "preview": False,
    }
