"""Apps not yet published: a stored definition shown as the rep's form, with no tables.

The designer previews an app's draft as the rep will see it. :func:`preview_revision`
chooses the revision shown (the one place that decides which revision is "the draft"),
:func:`load_preview` reads and validates it into a :class:`DraftApp` — the definition in
the shape every evaluation reads, bound to no tables — and :class:`FormPreview` computes
the state of a new record's form for posted values with the same code the record service
uses (``runtime.record_views.describe_form``).

Nothing here writes: no row is added, flushed or committed. The only queries read the
app, its revision and (for ``user`` fields and ``me()``) users. A draft has no records, so
a linked record is absent (null) and every related collection is empty: ``count(visits)``
is 0 and ``any(...)`` is false, as for a new record of the published app.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from builder import DefinitionInvalid, Problem, load_definition
from builder.model import App, Entity
from builder.repository import AppRow, DefinitionRepository, RevisionRow
from expressions.scope import CollectionSpec
from runtime.apps import DRAFT, PublishedApp
from runtime.context import CallContext
from runtime.errors import Invalid, NotFound
from runtime.evaluation import RecordEvaluator, RecordResolver
from runtime.record_views import blank_record, describe_form, with_draft
from runtime.visibility import Visibility


@dataclass
class DraftApp(PublishedApp):
    """A revision's definition seen as an app, bound to no tables (it may never have been
    published). ``status`` is the revision's: ``draft``, or ``published`` when the app has
    no newer draft."""

    status: str = DRAFT

    def entity(self, key: str) -> Entity:
        """The entity ``key`` of this revision, or NotFound naming the revision."""
        entity = self.definition.entity(key)
        if entity is None:
            raise NotFound(
                f"The {self.status} revision r{self.revision_number} of the app {self.key!r} has no entity {key!r}.",
                message_zh=f"应用 {self.key} 的{'草稿' if self.status == DRAFT else '已发布版本'} r{self.revision_number} 中没有实体 {key}。",
            )
        return entity

    def table(self, key: str) -> sa.Table:
        """Never: a draft has no tables, so nothing may query one through it."""
        raise LookupError(f"the {self.status} revision r{self.revision_number} of {self.key!r} has no tables")


class DraftInvalid(Invalid):
    """The revision to preview does not load: ``problems`` says why (builder's problems)."""

    code = "draft_invalid"

    def __init__(self, app: AppRow, revision: RevisionRow, problems: Sequence[Problem]) -> None:
        count = len(problems)
        super().__init__(
            f"The draft r{revision.number} of this app has {count} problem(s); fix them to see the preview.",
            message_zh=f"此应用的草稿 r{revision.number} 有 {count} 个问题,修正后才能预览。",
            detail={"diagnostics": [p.as_dict() for p in problems]},
        )
        self.app_key = app.key
        self.revision_number = revision.number
        self.revision_status = revision.status
        self.problems = tuple(problems)


def preview_revision(session: Session, workspace_id: int, app: AppRow) -> RevisionRow | None:
    """The revision the designer previews: the draft the designer edits (the app's newest
    draft, :meth:`DefinitionRepository.draft`, the same one ``GET /design/api/apps/<id>/draft``
    answers), else the published revision (None: the app has neither)."""
    repo = DefinitionRepository(session, workspace_id)
    draft = repo.draft(app.id)
    if draft is not None:
        return draft
    return repo.published(app)


_CACHE: OrderedDict[tuple[Any, ...], App | DefinitionInvalid] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def _definition(session: Session, revision: RevisionRow) -> App:
    """The revision's definition, validated (cached by its content: a draft is saved over
    and over, and the form state is asked for on every keystroke)."""
    digest = hashlib.sha256(json.dumps(revision.definition, sort_keys=True, default=str).encode()).hexdigest()
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    key = (database, revision.id, digest)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
    if cached is None:
        try:
            cached = load_definition(revision.definition)
        except DefinitionInvalid as exc:
            cached = exc
        with _CACHE_LOCK:
            _CACHE[key] = cached
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    if isinstance(cached, DefinitionInvalid):
        raise cached
    return cached


def load_preview(session: Session, workspace_id: int, app_id: int) -> DraftApp:
    """The app ``app_id`` of the workspace as its :func:`preview_revision` defines it.

    NotFound when the app is not in this workspace or has no revision to show;
    :class:`DraftInvalid` (with every problem) when that revision's definition does not load.
    """
    app = session.scalars(
        sa.select(AppRow).where(AppRow.workspace_id == workspace_id, AppRow.id == app_id)
    ).one_or_none()
    if app is None:
        raise NotFound(f"No app {app_id} in this workspace.", message_zh=f"工作区中没有应用 {app_id}。")
    revision = preview_revision(session, workspace_id, app)
    if revision is None:
        raise NotFound(
            f"The app {app.key!r} has no draft to preview.", message_zh=f"应用 {app.key} 没有可预览的草稿。"
        )
    try:
        definition = _definition(session, revision)
    except DefinitionInvalid as exc:
        raise DraftInvalid(app, revision, exc.problems) from None
    return DraftApp(
        app_id=app.id,
        key=app.key,
        workspace_id=workspace_id,
        revision_id=revision.id,
        revision_number=revision.number,
        definition=definition,
        tables={},
        status=revision.status,
    )


class DraftResolver(RecordResolver):
    """The data a draft's expressions reach: users as stored, and no records at all."""

    def record(self, entity: str, record_id: int) -> Mapping[str, Any] | None:
        """No linked record exists in a draft."""
        return None

    def related(self, collection: CollectionSpec, parent: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        """No related record exists in a draft: aggregates run over an empty list."""
        return []


class DraftEvaluator(RecordEvaluator):
    """The record evaluator over a :class:`DraftApp` (sees every record: there are none)."""

    def __init__(self, ctx: CallContext, app: DraftApp) -> None:
        super().__init__(ctx, app, visibility=Visibility.everything(app))
        self.resolver = DraftResolver(ctx.session, app, self)


class FormPreview:
    """The rep's form of a :class:`DraftApp`: a new record's form state for posted values."""

    def __init__(self, ctx: CallContext, app: DraftApp) -> None:
        self.ctx = ctx
        self.app = app

    def form_state(self, entity_key: str, draft: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What ``RecordService.form_state(entity_key, None, draft)`` answers once published:
        steps, field states, formulas and stage exit criteria of a new record."""
        entity = self.app.entity(entity_key)
        record = with_draft(entity, blank_record(entity, self.ctx), draft, self.ctx.tz)
        return describe_form(DraftEvaluator(self.ctx, self.app), entity, record)
