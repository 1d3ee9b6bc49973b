"""Read-only lookups pages make around records — link titles, user names, files — for one actor.

A page shows a record's links by their targets' titles, its users by name and its files
by file name; a timeline does the same for its events. These lookups are batched (one
query per target entity, one for users, one for files) and limited to what the actor may
read: a link to a record the actor can't read has no title, and a file is readable only
when the actor may read a record that refers to it — or uploaded it and no record refers
to it yet (a form's photo between upload and save). Admins and the system read everything
of their workspace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from builder.model import FieldType
from builder.repository import AppRow
from runtime.apps import PublishedApp, load_published
from runtime.context import CallContext
from runtime.errors import NotFound
from runtime.models import FileRow, User
from runtime.visibility import UNRESTRICTED_ROLES, Visibility

FILE_TYPES = (FieldType.PHOTO, FieldType.FILE)


class RecordReads:
    """Batched read-only lookups for one call context (and, for titles, one app)."""

    def __init__(self, ctx: CallContext, app: PublishedApp | None = None) -> None:
        self.ctx = ctx
        self.app = app

    def link_titles(self, link_ids: Mapping[str, Iterable[int]]) -> dict[tuple[str, int], Any]:
        """``(entity, id) → title value`` of linked records the actor may read.

        The value is the record's ``title_field`` value (None when it has none or it is
        empty); records the actor may not read, or that don't exist, are left out.
        """
        assert self.app is not None
        app = self.app
        visibility = Visibility.of(app, self.ctx.actor)
        titles: dict[tuple[str, int], Any] = {}
        for target, ids in link_ids.items():
            wanted = sorted({int(i) for i in ids})
            entity = app.definition.entity(target)
            if not wanted or entity is None or target not in app.tables or target in app.archived_entities:
                continue
            table = app.table(target)
            column = entity.title_field
            title = table.c[column] if column and column in table.c else sa.null()
            query = sa.select(table.c.id, title).where(table.c.id.in_(wanted))
            condition = visibility.sql(target, table, visibility.sql_context(self.ctx))
            if condition is not None:
                query = query.where(condition)
            for rid, value in self.ctx.session.execute(query):
                titles[(target, rid)] = value
        return titles

    def user_names(self, ids: Iterable[int]) -> dict[int, str]:
        """Names of users of the workspace among ``ids`` (a record shows its owner's name)."""
        wanted = {int(i) for i in ids}
        if not wanted:
            return {}
        rows = self.ctx.session.execute(
            sa.select(User.id, User.name).where(User.workspace_id == self.ctx.workspace_id, User.id.in_(wanted))
        )
        return {row.id: row.name for row in rows}

    def files(self, ids: Iterable[int], *, near: Mapping[str, Iterable[int]] | None = None) -> dict[int, FileRow]:
        """The files among ``ids`` the actor may read (see the module docstring).

        ``near`` (entity → record ids of this service's app) names records that probably
        refer to the files — the records a page shows: they are checked first, by id,
        before any wider search.
        """
        wanted = {int(i) for i in ids}
        if not wanted:
            return {}
        rows = {
            row.id: row
            for row in self.ctx.session.scalars(
                sa.select(FileRow).where(FileRow.workspace_id == self.ctx.workspace_id, FileRow.id.in_(wanted))
            )
        }
        readable = self.readable_files(rows.values(), near=near)
        return {fid: row for fid, row in rows.items() if fid in readable}

    def file(self, file_id: int, *, near: Mapping[str, Iterable[int]] | None = None) -> FileRow:
        """The file ``file_id`` if the actor may read it; NotFound otherwise (also for another
        workspace's files and for files that don't exist: the answers are the same)."""
        row = self.files([file_id], near=near).get(int(file_id))
        if row is None:
            raise NotFound("No such file.", message_zh="文件不存在。")
        return row

    def readable_files(self, rows: Iterable[FileRow], *, near: Mapping[str, Iterable[int]] | None = None) -> set[int]:
        """Ids of the file ``rows`` (of this workspace) the actor may read."""
        rows = [row for row in rows if row.workspace_id == self.ctx.workspace_id]
        actor = self.ctx.actor
        if actor.role in UNRESTRICTED_ROLES:
            return {row.id for row in rows}
        readable = {row.id for row in rows if row.attached_at is None and actor.id is not None and row.created_by == actor.id}
        pending = {row.id for row in rows} - readable
        if pending and near and self.app is not None:
            readable |= self._referenced_by(self.app, near, pending)
            pending -= readable
        if pending:
            readable |= self._referenced(pending)
        return readable

    def _referenced_by(self, app: PublishedApp, near: Mapping[str, Iterable[int]], file_ids: set[int]) -> set[int]:
        """Those of ``file_ids`` the readable records ``near`` refer to (primary-key reads)."""
        visibility = Visibility.of(app, self.ctx.actor)
        found: set[int] = set()
        for entity_key, record_ids in near.items():
            entity = app.definition.entity(entity_key)
            wanted = sorted({int(i) for i in record_ids})
            if entity is None or not wanted or entity_key in app.archived_entities or entity_key not in app.tables:
                continue
            fields = [f for f in entity.fields if f.type in FILE_TYPES]
            if not fields or visibility.rule(entity_key) is False:
                continue
            table = app.table(entity_key)
            query = sa.select(*(table.c[f.key] for f in fields)).where(table.c.id.in_(wanted))
            condition = visibility.sql(entity_key, table, visibility.sql_context(self.ctx))
            if condition is not None:
                query = query.where(condition)
            for row in self.ctx.session.execute(query):
                for value in row:
                    if isinstance(value, list):
                        found |= {v for v in value if isinstance(v, int)} & file_ids
        return found

    def _referenced(self, file_ids: set[int]) -> set[int]:
        """Those of ``file_ids`` a record the actor may read refers to, in any app."""
        found: set[int] = set()
        for app in self._apps():
            visibility = Visibility.of(app, self.ctx.actor)
            sql_ctx = visibility.sql_context(self.ctx)
            for entity in app.definition.entities:
                fields = [f for f in entity.fields if f.type in FILE_TYPES]
                if not fields or entity.key in app.archived_entities or entity.key not in app.tables:
                    continue
                if visibility.rule(entity.key) is False:
                    continue
                table = app.table(entity.key)
                condition = visibility.sql(entity.key, table, sql_ctx)
                for file_id in sorted(file_ids - found):
                    # One readable record referring to the file is enough: LIMIT 1.
                    refers = sa.or_(*(self._contains(table.c[f.key], file_id) for f in fields))
                    query = sa.select(table.c.id).where(refers)
                    if condition is not None:
                        query = query.where(condition)
                    if self.ctx.session.execute(query.limit(1)).first() is not None:
                        found.add(file_id)
                if found == file_ids:
                    return found
        return found

    def _contains(self, column: sa.ColumnElement[Any], file_id: int) -> sa.ColumnElement[bool]:
        """Whether the JSON list of file ids in ``column`` holds ``file_id``."""
        if self.ctx.session.get_bind().dialect.name == "postgresql":
            return sa.cast(column, JSONB).contains([file_id])
        elements = sa.func.json_each(column).table_valued("value")
        return sa.exists(sa.select(sa.literal(1)).select_from(elements).where(elements.c.value == file_id))

    def _apps(self) -> Iterator[PublishedApp]:
        """This service's app first, then the workspace's other published apps, loaded lazily."""
        if self.app is not None:
            yield self.app
        keys = list(
            self.ctx.session.scalars(
                sa.select(AppRow.key).where(AppRow.workspace_id == self.ctx.workspace_id, AppRow.published_revision_id.is_not(None))
            )
        )
        for key in keys:
            if self.app is not None and key == self.app.key:
                continue
            try:
                yield load_published(self.ctx.session, self.ctx.workspace_id, key)
            except NotFound:
                continue
