"""The designer's service: apps, their one draft, expression checks, plans, publishing, history.

:class:`DesignerService` is what the browser designer (``/design/api``) and the REST API
(``/api/v1/apps/<id>/...``) call; it holds no Flask. Only workspace admins may use it. It
owns its transactions: every method that writes commits once, or rolls back and raises.

Each app has at most one **draft** revision, which the designer saves again and again.
A save stores the document even when it has problems (a draft in progress may be invalid)
and answers every problem (:func:`builder.drafts.check_draft`); it is refused only when the
``version`` sent is not the stored one — another admin saved meanwhile — with who and when.
Publishing the draft refuses a draft with problems, then reuses
:meth:`runtime.apps.AppService.publish` (validate, plan, apply in one transaction). A
rollback publishes an earlier revision's definition as a new revision.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from marshmallow import ValidationError

from builder.diff import diff_definitions
from builder.drafts import DraftCheck, check_draft, content_digest
from builder.errors import ROOT, Problem, join_path, problem
from builder.keys import generate_key, label_text
from builder.model import FORMAT, App
from builder.plan import Plan, plan_migration
from builder.repository import AppRow, DefinitionRepository, RevisionRow
from builder.triggers.events import ON_SCHEMAS
from runtime.apps import (
    DRAFT,
    PUBLISHED,
    SUPERSEDED,
    AppService,
    load_published,
    rollout_user_problems,
)
from runtime.automation.sweeps import next_fire
from runtime.automation.templates import placeholders
from runtime.automation.templates import render as render_template
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.designer_expressions import KINDS, check_in_scope, names_in_scope
from runtime.errors import Conflict, Forbidden, Invalid, NotFound, PublishRefused
from runtime.models import EntityTableRow, User
from runtime.records import RecordService
from runtime.values import text_problem

#: Plan step kinds counted in the plan's summary.
SUMMARY_KINDS: dict[str, str] = {
    "create_entity": "created",
    "add_field": "created",
    "add_step": "created",
    "add_stages": "created",
    "relabel_field": "relabelled",
    "change_field_type": "converted",
    "archive_field": "archived",
    "archive_entity": "archived",
    "remove_step": "archived",
    "remove_stages": "archived",
    "drop_field": "dropped",
}
#: Plan steps whose rows are the existing rows of the entity's table.
_ROW_KINDS = frozenset({"archive_field", "drop_field", "change_field_type", "archive_entity", "remove_step"})


class DesignerError(Conflict):
    """A designer refusal whose body carries extra members (``members``) besides the problem."""

    def __init__(self, message: str, *, message_zh: str, code: str, members: Mapping[str, Any] | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, message_zh=message_zh, code=code, detail=members)
        self.members: dict[str, Any] = dict(members or {})
        if status is not None:
            self.status = status


class DraftInvalid(PublishRefused):
    """Publishing a draft that has problems: ``members["diagnostics"]`` lists them."""

    code = "draft_invalid"

    def __init__(self, diagnostics: list[dict[str, Any]]) -> None:
        count = len(diagnostics)
        super().__init__(
            f"The draft has {count} problem(s); fix them before publishing. Nothing was published.",
            message_zh=f"草稿有 {count} 个问题,请先修正再发布。未发布任何内容。",
            detail={"diagnostics": diagnostics},
        )
        self.members = {"diagnostics": diagnostics}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def _label_json(label: Any) -> dict[str, str]:
    if isinstance(label, Mapping):
        return {k: str(v) for k, v in label.items() if k in ("zh", "en") and isinstance(v, str)}
    if isinstance(label, str):
        return {"zh": label, "en": label}
    return {}


def _storable(document: Any) -> None:
    """Refuses a document no database can store: text with NUL or lone surrogates, NaN."""
    stack: list[tuple[Any, str]] = [(document, ROOT)]
    while stack:
        value, path = stack.pop()
        texts: list[str] = []
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(
                f"The definition has a number JSON does not have at {path} (NaN or infinity).",
                message_zh=f"定义 {path} 处的数字无效(NaN 或无穷大)。",
                errors={path: ["not a finite number"]},
                code="invalid_json",
            )
        if isinstance(value, str):
            texts = [value]
        elif isinstance(value, Mapping):
            texts = [k for k in value if isinstance(k, str)]
            stack.extend((v, join_path(path, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, join_path(path, i)) for i, v in enumerate(value))
        for text in texts:
            reason = text_problem(text)
            if reason is not None:
                raise Invalid(
                    f"The definition has text that can't be stored at {path}: {reason[0]}.",
                    message_zh=f"定义 {path} 处含有无法保存的文本:{reason[1]}。",
                    errors={path: [reason[0]]},
                    code="invalid_text",
                )


def published_keys(definitions: Iterable[Any]) -> dict[str, Any]:
    """The keys of entities, fields, steps and stages in any of ``definitions`` (raw JSON)."""
    entities: list[str] = []
    nested: dict[str, dict[str, list[str]]] = {"fields": {}, "steps": {}, "stages": {}}
    for document in definitions:
        for entity in document.get("entities", []) if isinstance(document, Mapping) else []:
            key = entity.get("key") if isinstance(entity, Mapping) else None
            if not isinstance(key, str):
                continue
            if key not in entities:
                entities.append(key)
            for member, known in nested.items():
                items = entity.get(member)
                for item in items if isinstance(items, list) else []:
                    item_key = item.get("key") if isinstance(item, Mapping) else None
                    if isinstance(item_key, str) and item_key not in known.setdefault(key, []):
                        known[key].append(item_key)
    return {"entities": entities, **nested}


class DesignerService:
    """The designer's operations on one workspace's apps; admin only; owns its transactions."""

    def __init__(self, ctx: CallContext) -> None:
        if ctx.actor.role != "admin":
            raise Forbidden(
                "Only workspace admins can use the designer.", message_zh="只有工作区管理员可以使用设计器。"
            )
        self.ctx = ctx
        self.session = ctx.session
        self.repo = DefinitionRepository(ctx.session, ctx.workspace_id)

    # -- reading -------------------------------------------------------------------------

    def app(self, app_id: int | str) -> AppRow:
        """The app ``app_id`` of this workspace, or NotFound (also for other workspaces' apps)."""
        ref = str(app_id)
        row = (self.repo.app(int(ref)) if int(ref) < 2**63 else None) if ref.isdigit() else self.repo.app_by_key(ref[:63])
        if row is None:
            raise NotFound(f"No app {app_id} in this workspace.", message_zh=f"工作区中没有应用 {app_id}。")
        return row

    def _names(self, ids: Iterable[int | None]) -> dict[int, str]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        rows = self.session.execute(
            sa.select(User.id, User.name).where(User.id.in_(wanted), User.workspace_id == self.ctx.workspace_id)
        )
        return {uid: name for uid, name in rows}

    def revision_summary(self, revision: RevisionRow) -> dict[str, Any]:
        """``{"id","number","version","status","updated_at","updated_by", ...}`` of a revision."""
        names = self._names((revision.created_by, revision.updated_by, revision.published_by))
        return self._summary(revision, names)

    @staticmethod
    def _summary(revision: RevisionRow, names: Mapping[int, str]) -> dict[str, Any]:
        updated_by = revision.updated_by if revision.updated_at is not None else revision.created_by
        return {
            "id": revision.id,
            "number": revision.number,
            "version": revision.version,
            "status": revision.status,
            "created_at": _iso(revision.created_at),
            "created_by": names.get(revision.created_by) if revision.created_by else None,
            "updated_at": _iso(revision.updated_at or revision.created_at),
            "updated_by": names.get(updated_by) if updated_by else None,
            "published_at": _iso(revision.published_at),
            "published_by": names.get(revision.published_by) if revision.published_by else None,
        }

    def app_with_draft(self, app: AppRow, draft: RevisionRow, *, diagnostics: bool = False) -> dict[str, Any]:
        """The answer of creating, importing or renaming an app: its summary and its draft's
        (with the draft's problems when ``diagnostics``)."""
        answer: dict[str, Any] = {"app": self.app_summary(app), "draft": self.revision_summary(draft)}
        if diagnostics:
            answer["diagnostics"] = self.diagnostics(app, draft.definition)
        return answer

    def app_summary(self, app: AppRow) -> dict[str, Any]:
        """``{"id","key","label","published","draft"}`` of an app."""
        published = self.repo.published(app)
        draft = self.repo.draft(app.id)
        return {
            "id": app.id,
            "key": app.key,
            "label": _label_json(app.label),
            "published": None if published is None else {
                "id": published.id, "number": published.number, "published_at": _iso(published.published_at),
            },
            "draft": None if draft is None else {"id": draft.id, "number": draft.number, "version": draft.version},
        }

    def apps(self) -> list[dict[str, Any]]:
        """Every app of the workspace with its published revision and draft."""
        return [self.app_summary(a) for a in self.repo.apps()]

    # -- apps ----------------------------------------------------------------------------

    def _new_draft(self, app: AppRow, definition: Any, number: int | None = None) -> RevisionRow:
        now = to_naive_utc(self.ctx.now())
        revision = RevisionRow(
            workspace_id=self.ctx.workspace_id,
            app_id=app.id,
            number=number or self.repo.next_number(app.id),
            status=DRAFT,
            definition=definition,
            created_at=now,
            created_by=self.ctx.actor.id,
            version=1,
            updated_at=now,
            updated_by=self.ctx.actor.id,
        )
        self.repo.add(revision)
        return revision

    def _taken_app_keys(self) -> set[str]:
        return {a.key for a in self.repo.apps()}

    def create_app(self, label: Any) -> tuple[AppRow, RevisionRow]:
        """A new app named ``label`` (``{"zh","en"}`` or a text) whose draft has no entities yet."""
        shown = _label_json(label)
        if not any(v.strip() for v in shown.values()):
            raise Invalid(
                "Give the app a name (label.zh or label.en).",
                message_zh="请为应用命名(label.zh 或 label.en)。",
                errors={"label": ["required"]},
            )
        _storable(shown)
        key = generate_key(shown, self._taken_app_keys(), kind="app")
        now = to_naive_utc(self.ctx.now())
        app = AppRow(workspace_id=self.ctx.workspace_id, key=key, label=shown, created_at=now)
        self.repo.add(app)
        draft = self._new_draft(app, {"format": FORMAT, "key": key, "label": shown, "entities": []})
        self.session.commit()
        return app, draft

    def import_app(self, document: Any) -> tuple[AppRow, RevisionRow, DraftCheck]:
        """A new app whose draft is ``document`` as given (problems and all).

        Its key is the document's when that is a free, valid key, else one made from it or
        from the label (the stored draft gets that key too); only a non-object is refused.
        """
        if not isinstance(document, Mapping):
            raise Invalid(
                "An app definition is a JSON object.", message_zh="应用定义应为 JSON 对象。", code="invalid_json"
            )
        _storable(document)
        stated = document.get("key")
        base = stated if isinstance(stated, str) and stated.strip() else label_text(document.get("label"))
        key = generate_key(base, self._taken_app_keys(), kind="app")
        definition = dict(copy.deepcopy(document))
        definition["key"] = key
        now = to_naive_utc(self.ctx.now())
        label = _label_json(definition.get("label")) or {"zh": key, "en": key}
        app = AppRow(workspace_id=self.ctx.workspace_id, key=key, label=label, created_at=now)
        self.repo.add(app)
        draft = self._new_draft(app, definition)
        self.session.commit()
        return app, draft, check_draft(definition)

    def rename(self, app_id: int | str, label: Any) -> tuple[AppRow, RevisionRow]:
        """Renames the app and its draft definition (a new save of the draft)."""
        app = self.app(app_id)
        shown = _label_json(label)
        if not any(v.strip() for v in shown.values()):
            raise Invalid(
                "Give the app a name (label.zh or label.en).",
                message_zh="请为应用命名(label.zh 或 label.en)。",
                errors={"label": ["required"]},
            )
        _storable(shown)
        draft = self._ensure_draft(app)
        definition = dict(draft.definition) if isinstance(draft.definition, Mapping) else {}
        definition["label"] = shown
        app.label = shown
        self._store(draft, definition)
        self.session.commit()
        return app, draft

    def delete(self, app_id: int | str) -> None:
        """Deletes an app that was never published (its drafts with it); 409 otherwise."""
        app = self.app(app_id)
        published = app.published_revision_id is not None or any(
            r.published_at is not None for r in self.repo.revisions(app.id)
        )
        if published:
            raise DesignerError(
                f"The app {app.key} has been published; it can't be deleted (its records would be lost).",
                message_zh=f"应用 {app.key} 已发布过,不能删除(其数据会丢失)。",
                code="app_published",
            )
        for revision in self.repo.revisions(app.id):
            self.session.delete(revision)
        self.session.flush()
        self.repo.delete(app)
        self.session.commit()

    def export(self, app_id: int | str, number: int | None = None) -> tuple[str, Any]:
        """``(filename, definition)`` of revision ``number``; default: the draft, else the
        published revision."""
        app = self.app(app_id)
        if number is not None:
            revision = self.repo.revision_by_number(app.id, number)
        else:
            revision = self.repo.draft(app.id) or self.repo.published(app)
            if revision is None:
                revisions = self.repo.revisions(app.id)
                revision = revisions[0] if revisions else None
        if revision is None:
            raise NotFound("No such revision of this app.", message_zh="该应用没有这个版本。")
        return f"{app.key}-r{revision.number}.json", revision.definition

    # -- the draft -----------------------------------------------------------------------

    def _ensure_draft(self, app: AppRow) -> RevisionRow:
        draft = self.repo.draft(app.id)
        if draft is not None:
            return draft
        published = self.repo.published(app)
        base = copy.deepcopy(published.definition) if published is not None else {
            "format": FORMAT, "key": app.key, "label": _label_json(app.label), "entities": [],
        }
        return self._new_draft(app, base)

    def _published_definitions(self, app: AppRow) -> list[Any]:
        return list(
            self.session.scalars(
                sa.select(RevisionRow.definition).where(
                    RevisionRow.workspace_id == self.ctx.workspace_id,
                    RevisionRow.app_id == app.id,
                    RevisionRow.published_at.is_not(None),
                )
            )
        )

    def diagnostics(self, app: AppRow, definition: Any) -> list[dict[str, Any]]:
        """Every problem of a draft ``definition`` of ``app``, as JSON."""
        problems = self._problems(app, check_draft(definition), definition)
        return [p.as_dict() for p in [*problems, *self._rollout_problems(definition)]]

    def _rollout_problems(self, definition: Any) -> list[Problem]:
        return rollout_user_problems(self.session, self.ctx.workspace_id, definition)

    @staticmethod
    def _problems(app: AppRow, outcome: DraftCheck, definition: Any) -> list[Problem]:
        problems = list(outcome.problems)
        stated = definition.get("key") if isinstance(definition, Mapping) else None
        if isinstance(stated, str) and stated != app.key and not any(p.path == "$.key" for p in problems):
            problems.append(
                problem(
                    join_path(ROOT, "key"),
                    "invalid_value",
                    reason=f"the app's key is {app.key}; it can't be changed",
                    reason_zh=f"应用的标识是 {app.key},不能修改",
                )
            )
        return problems

    def draft(self, app_id: int | str) -> dict[str, Any]:
        """The draft (created from the published revision when there is none) with its
        diagnostics and the keys ever published."""
        app = self.app(app_id)
        created = self.repo.draft(app.id) is None
        draft = self._ensure_draft(app)
        if created:
            self.session.commit()
        return {
            "revision": self.revision_summary(draft),
            "definition": draft.definition,
            "diagnostics": self.diagnostics(app, draft.definition),
            "published_keys": published_keys(self._published_definitions(app)),
        }

    def _conflict(self, draft: RevisionRow) -> DesignerError:
        who = self._names((draft.updated_by,)).get(draft.updated_by or 0) or "?"
        when = draft.updated_at or draft.created_at
        local = when.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.ctx.tz).strftime("%H:%M")
        return DesignerError(
            f"{who} saved this draft at {local}; reload to see their changes.",
            message_zh=f"{who} 在 {local} 保存了这个草稿;请重新加载以查看其修改。",
            code="draft_conflict",
            members={"current": {"version": draft.version, "updated_by": who, "updated_at": _iso(when)}},
        )

    def _check_version(self, draft: RevisionRow, version: int) -> None:
        if version != draft.version:
            raise self._conflict(draft)

    def _store(self, draft: RevisionRow, definition: Any) -> None:
        draft.definition = definition
        draft.version = draft.version + 1
        draft.updated_at = to_naive_utc(self.ctx.now())
        draft.updated_by = self.ctx.actor.id
        self.session.flush()

    def save_draft(self, app_id: int | str, definition: Any, version: int) -> dict[str, Any]:
        """Stores ``definition`` as the draft if ``version`` is the stored one (409
        ``draft_conflict`` otherwise); answers the new version and every problem."""
        app = self.app(app_id)
        if not isinstance(definition, Mapping):
            raise Invalid(
                "The definition is a JSON object.", message_zh="定义应为 JSON 对象。",
                errors={"definition": ["invalid_type"]},
            )
        _storable(definition)
        draft = self.repo.draft(app.id)
        if draft is None:
            draft = self._ensure_draft(app)
        # Lock the row for the comparison, so two saves can't both pass it.
        self.session.refresh(draft, with_for_update=True)
        self._check_version(draft, version)
        self._store(draft, dict(definition))
        label = _label_json(definition.get("label"))
        if any(v.strip() for v in label.values()):
            app.label = label
        self.session.commit()
        return {"revision": self.revision_summary(draft), "diagnostics": self.diagnostics(app, draft.definition)}

    def generate_key(self, label: Any, taken: Iterable[str], kind: str = "field") -> str:
        """A key for ``label`` not in ``taken`` (see :mod:`builder.keys`)."""
        return generate_key(label, taken, kind=kind)

    def people(self, app_id: int | str) -> dict[str, Any]:
        """Who a trigger can be rolled out to: the workspace's active users and the roles
        of the app's draft (see docs/automation.md "Staged rollout")."""
        app = self.app(app_id)
        revision = self.repo.draft(app.id) or self.repo.published(app)
        loaded = check_draft(revision.definition).app if revision is not None else None
        roles = list(loaded.roles) if loaded is not None else ["admin", "manager", "rep"]
        users = self.session.execute(
            sa.select(User.id, User.name, User.username, User.role)
            .where(User.workspace_id == self.ctx.workspace_id, User.is_active.is_(True))
            .order_by(User.name, User.id)
            .limit(2000)
        ).all()
        return {
            "users": [{"id": u.id, "name": u.name, "username": u.username, "role": u.role} for u in users],
            "roles": roles,
        }

    # -- expressions ---------------------------------------------------------------------

    def check_expression(
        self, app_id: int | str, entity: str, expression: str, kind: str, definition: Any = None
    ) -> dict[str, Any]:
        """Checks ``expression`` on ``entity`` of the posted ``definition`` (default: the
        stored draft, else the published revision) — see :mod:`runtime.designer_expressions`."""
        app = self.app(app_id)
        if kind not in KINDS:
            raise Invalid(
                f"Unknown expression kind {kind!r}; use one of {', '.join(KINDS)}.",
                message_zh=f"未知的表达式类型 {kind!r},可用:{'、'.join(KINDS)}。",
                errors={"kind": ["invalid"]},
            )
        if definition is None:
            revision = self.repo.draft(app.id) or self.repo.published(app)
            definition = revision.definition if revision is not None else {}
        digest = content_digest(definition)
        outcome = check_draft(definition, digest)
        model = outcome.app.entity(entity) if outcome.app is not None else None
        if outcome.app is None or model is None:
            raise NotFound(
                f"The draft has no entity {entity!r} (or it can't be read yet).",
                message_zh=f"草稿中没有实体 {entity}(或暂时无法读取)。",
            )
        answer = check_in_scope(outcome.app, model, expression, kind)
        answer["names"] = names_in_scope(digest, outcome.app, model)
        return answer

    # -- assignment preview --------------------------------------------------------------

    def preview_assignment(
        self, app_id: int | str, rule_key: str, definition: Any = None,
        record_ids: list[int] | None = None, limit: int = 10,
    ) -> dict[str, Any]:
        """Whom assignment rule ``rule_key`` of the posted ``definition`` (default: the
        stored draft, else the published revision) would pick for recent records, and why;
        writes nothing (see :mod:`runtime.designer_assignment`)."""
        from runtime.designer_assignment import preview_assignment

        app = self.app(app_id)
        if definition is None:
            revision = self.repo.draft(app.id) or self.repo.published(app)
            definition = revision.definition if revision is not None else {}
        return preview_assignment(self.ctx, app.id, definition, rule_key, record_ids=record_ids, limit=limit)

    # -- message templates ---------------------------------------------------------------

    def preview_message(
        self, app_id: int | str, entity: str, template: str, definition: Any = None, record_id: int | None = None
    ) -> dict[str, Any]:
        """``template`` rendered by the engine's renderer (:mod:`runtime.automation.templates`)
        on a sample record of ``entity``: record ``record_id``, else the newest record of the
        published entity, else an empty record (the draft's fields, all empty). Names that
        are no field of the entity stay as written and are listed in ``unknown``."""
        app = self.app(app_id)
        if definition is None:
            revision = self.repo.draft(app.id) or self.repo.published(app)
            definition = revision.definition if revision is not None else {}
        outcome = check_draft(definition, content_digest(definition))
        model = outcome.app.entity(entity) if outcome.app is not None else None
        if outcome.app is None or model is None:
            raise NotFound(
                f"The draft has no entity {entity!r} (or it can't be read yet).",
                message_zh=f"草稿中没有实体 {entity}(或暂时无法读取)。",
            )
        known = [f.key for f in model.fields] + ["id", "owner", "created_by", "created_at", "updated_at"]
        if model.stages:
            known += ["stage", "stage_entered_at"]
        record, sample_id = self._sample_record(app, entity, record_id)
        values: dict[str, Any] = dict.fromkeys(known)
        if record is not None:
            values.update({k: v for k, v in record.items() if k in values})
        return {
            "rendered": render_template(template, values, self.ctx.tz),
            "sample": "record" if record is not None else "empty",
            "record_id": sample_id,
            "placeholders": placeholders(template),
            "unknown": [name for name in placeholders(template) if name not in values],
        }

    def _sample_record(
        self, app: AppRow, entity: str, record_id: int | None
    ) -> tuple[dict[str, Any] | None, int | None]:
        """Record ``record_id`` (NotFound if it isn't there), else the newest record of the
        published entity; (None, None) when the entity is not published or has no record."""
        if self.repo.published(app) is None:
            if record_id is not None:
                raise NotFound("The app is not published: it has no records yet.", message_zh="应用尚未发布,还没有记录。")
            return None, None
        published = load_published(self.session, self.ctx.workspace_id, app.id)
        try:
            published.entity(entity)
        except NotFound:
            if record_id is not None:
                raise
            return None, None
        records = RecordService(self.ctx, published)
        if record_id is not None:
            return records.get(entity, record_id), record_id
        items = records.list(entity, limit=1).items
        return (items[0], int(items[0]["id"])) if items else (None, None)

    # -- dashboard widgets ---------------------------------------------------------------

    def preview_widget(self, app_id: int | str, widget: dict[str, Any]) -> dict[str, Any]:
        """A dashboard widget as drafted, checked and run by the dashboard engine
        (:meth:`runtime.dashboards.DashboardService.preview`) on the published app's data with
        the admin's read conditions; its layout is ignored and nothing is cached or stored.
        An app never published has no data: refused with ``not_published``."""
        from runtime.dashboards import DashboardService

        app = self.app(app_id)
        if self.repo.published(app) is None:
            raise Invalid(
                "Publish the app first: the preview runs on the published app's data.",
                message_zh="请先发布应用:预览使用已发布应用的数据。",
                errors={"app": ["not_published"]},
                code="not_published",
            )
        published = load_published(self.session, self.ctx.workspace_id, app.id)
        body = {k: v for k, v in widget.items() if k != "layout"}
        return DashboardService(self.session, self.ctx, published).preview(body)

    # -- schedules -----------------------------------------------------------------------

    def schedule_times(self, cron: str, timezone: str | None = None, count: int = 3) -> dict[str, Any]:
        """The next ``count`` times a schedule trigger (``on: {type: schedule}``) fires:
        the trigger schema checks ``cron`` and ``timezone`` (default: the workspace's zone)
        and the schedule sweep's own :func:`~runtime.automation.sweeps.next_fire` counts."""
        try:
            on = ON_SCHEMAS["schedule"]().load({"cron": cron, **({"timezone": timezone} if timezone else {})})
        except ValidationError as exc:
            found = [
                problem(join_path(ROOT, key), getattr(msg, "code", "invalid_value"), **getattr(msg, "params", {}))
                for key, messages in sorted(exc.normalized_messages().items())
                for msg in (messages if isinstance(messages, list) else [messages])
            ]
            first = found[0].as_dict()
            raise Invalid(
                first["message"], message_zh=first["message_zh"],
                errors={key: ["invalid_value"] for key in exc.normalized_messages()},
            ) from None
        zone = ZoneInfo(on.timezone) if on.timezone else self.ctx.tz
        times: list[str] = []
        at = self.ctx.now()
        for _ in range(max(1, min(count, 10))):
            at = next_fire(on.cron, at, zone)
            times.append(at.astimezone(zone).isoformat())
        return {"cron": on.cron, "timezone": str(zone), "times": times}

    # -- plan and publish ----------------------------------------------------------------

    def _row_counts(self, app: AppRow) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.session.scalars(sa.select(EntityTableRow).where(EntityTableRow.app_id == app.id)):
            if row.archived_at is None:
                table = sa.table(row.table_name)
                counts[row.entity_key] = int(
                    self.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
                )
        return counts

    def _plan_view(self, app: AppRow, plan: Plan, diagnostics: list[dict[str, Any]]) -> dict[str, Any]:
        counts = self._row_counts(app)
        summary = dict.fromkeys(("created", "relabelled", "converted", "archived", "dropped"), 0)
        steps = []
        for step in plan.steps:
            described = step.describe()
            bucket = SUMMARY_KINDS.get(step.kind)
            if bucket is not None:
                summary[bucket] += 1
            steps.append({
                "kind": step.kind,
                "message": described["message"],
                "message_zh": described["message_zh"],
                "destructive": step.destructive,
                "rows": counts.get(step.entity) if step.kind in _ROW_KINDS else None,
                "entity": step.entity,
                "field": described.get("field"),
            })
        all_problems = diagnostics + [p.as_dict() for p in plan.problems]
        return {
            "ok": not all_problems,
            "diagnostics": all_problems,
            "steps": steps,
            "destructive": plan.destructive,
            "summary": summary,
        }

    def _old_app(self, app: AppRow) -> App | None:
        published = self.repo.published(app)
        if published is None:
            return None
        outcome = check_draft(published.definition)
        return outcome.app

    def _plan_of(self, app: AppRow, definition: Any, confirm_drops: Iterable[str]) -> tuple[dict[str, Any], Plan | None]:
        outcome = check_draft(definition)
        problems = [*self._problems(app, outcome, definition), *self._rollout_problems(definition)]
        diagnostics = [p.as_dict() for p in problems]
        if diagnostics or outcome.app is None:
            return {"ok": False, "diagnostics": diagnostics, "steps": [], "destructive": False,
                    "summary": dict.fromkeys(("created", "relabelled", "converted", "archived", "dropped"), 0)}, None
        plan = plan_migration(self._old_app(app), outcome.app, confirm_drops=frozenset(confirm_drops))
        return self._plan_view(app, plan, diagnostics), plan

    def _draft_for(self, app: AppRow, version: int) -> RevisionRow:
        draft = self.repo.draft(app.id)
        if draft is None:
            raise DesignerError(
                "This app has no draft to publish; open it in the designer first.",
                message_zh="该应用没有可发布的草稿,请先在设计器中打开。",
                code="no_draft",
            )
        self._check_version(draft, version)
        return draft

    def plan(self, app_id: int | str, version: int, confirm_drops: Iterable[str] = ()) -> dict[str, Any]:
        """What publishing the draft would do (nothing changes)."""
        app = self.app(app_id)
        draft = self._draft_for(app, version)
        return self._plan_of(app, draft.definition, confirm_drops)[0]

    @staticmethod
    def _check_drops(plan: Plan, confirm_drops: Iterable[str]) -> None:
        removable = {f"{s.entity}.{getattr(s, 'field', '')}" for s in plan.steps if s.kind in ("archive_field", "drop_field")}
        stale = sorted(set(confirm_drops) - removable)
        if stale:
            raise DesignerError(
                "The plan changed: " + ", ".join(stale) + " is not removed by this revision any more; "
                "preview the plan again and confirm what it really drops.",
                message_zh="迁移计划已变化:" + "、".join(stale) + " 不再被删除;请重新预览计划并确认真正要删除的内容。",
                code="confirmation_required",
                members={"unconfirmed": stale},
            )

    def _publish(self, app: AppRow, revision: RevisionRow, confirm_drops: list[str]) -> dict[str, Any]:
        view, plan = self._plan_of(app, revision.definition, confirm_drops)
        if plan is None or not view["ok"]:
            self.session.rollback()
            raise DraftInvalid(view["diagnostics"])
        self._check_drops(plan, confirm_drops)
        try:
            AppService(self.ctx).publish(revision.id, confirm_drops)
        except Exception:
            self.session.rollback()
            raise
        return {"revision": self.revision_summary(revision), "plan": view}

    def publish(self, app_id: int | str, version: int, confirm_drops: Iterable[str] = ()) -> dict[str, Any]:
        """Publishes the draft: refused with every problem when it has any (nothing is
        published); else planned and applied in one transaction."""
        app = self.app(app_id)
        draft = self._draft_for(app, version)
        return self._publish(app, draft, list(confirm_drops))

    def rollback(self, app_id: int | str, number: int, confirm_drops: Iterable[str] = ()) -> dict[str, Any]:
        """Publishes the definition of the earlier revision ``number`` as a new revision
        (a removed field comes back with its archived data)."""
        app = self.app(app_id)
        target = self.repo.revision_by_number(app.id, number)
        if target is None:
            raise NotFound("No such revision of this app.", message_zh="该应用没有这个版本。")
        if target.published_at is None:
            raise Invalid(
                f"Revision {number} was never published; only published revisions can be rolled back to.",
                message_zh=f"版本 {number} 从未发布,只能回滚到已发布过的版本。",
                code="not_published",
            )
        if target.status == PUBLISHED:
            raise Invalid(
                f"Revision {number} is the published revision already.",
                message_zh=f"版本 {number} 已是当前发布的版本。",
                code="already_published",
            )
        revision = self._new_draft(app, copy.deepcopy(target.definition))
        return self._publish(app, revision, list(confirm_drops))

    # -- history -------------------------------------------------------------------------

    def revisions(self, app_id: int | str) -> list[dict[str, Any]]:
        """The app's revisions, newest first."""
        app = self.app(app_id)
        rows = self.repo.revisions(app.id)
        names = self._names(i for r in rows for i in (r.created_by, r.updated_by, r.published_by))
        return [self._summary(r, names) for r in rows]

    def diff(self, app_id: int | str, old: int | str, new: int | str) -> list[dict[str, Any]]:
        """The readable changes from revision ``old`` to ``new`` (a number or ``draft``)."""
        app = self.app(app_id)
        return [c.as_dict() for c in diff_definitions(self._definition(app, old), self._definition(app, new))]

    def _definition(self, app: AppRow, ref: int | str) -> Any:
        if ref == "draft":
            draft = self.repo.draft(app.id)
            if draft is None:
                raise NotFound("This app has no draft.", message_zh="该应用没有草稿。")
            return draft.definition
        if ref == "published":
            published = self.repo.published(app)
            if published is None:
                raise NotFound("This app has not been published.", message_zh="该应用尚未发布。")
            return published.definition
        revision = self.repo.revision_by_number(app.id, int(ref)) if str(ref).isdigit() and int(ref) < 2**31 else None
        if revision is None:
            raise NotFound(f"No revision {ref} of this app.", message_zh=f"该应用没有版本 {ref}。")
        return revision.definition


__all__ = ["DRAFT", "PUBLISHED", "SUPERSEDED", "DesignerError", "DesignerService", "DraftInvalid", "published_keys"]
