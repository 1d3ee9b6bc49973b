"""Pages of published apps: lists, the record form with live step cards, detail, timeline.

Every view builds its services from the signed-in user (:mod:`web.apps.services`) and lets
the runtime decide: permissions (403), records of other workspaces or hidden by row rules
(404), locked steps and invalid values (422), stale versions (409). The form-state
endpoint answers with the runtime's own evaluation of steps, fields and stage exit
criteria, so the page never re-implements a rule in JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import (
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from builder.model import Entity, Field, FieldType
from builder.repository import DefinitionRepository
from runtime.apps import PublishedApp
from runtime.assignment import why_assigned
from runtime.errors import Conflict, Invalid, NotFound
from runtime.field_messages import describe, labels
from runtime.files import DEFAULT_ACCEPT, PHOTO_ACCEPT, FileRefused
from runtime.records import RecordService, record_json
from web import db
from web.apps import bp
from web.apps.forms import PREFIX, RecordForm, display_value, posted_values, record_form
from web.apps.present import display, form_context, local_time, parse_time, resolve, title_of
from web.apps.services import files, published, reads, records, workspace_users
from web.apps.timeline import timeline_rows
from web.dashboards.drill import DrillRefused, drill_args, drill_from_args
from web.errors import field_texts, in_language, localized_fields, problem, wants_json
from web.i18n import language, text
from web.login import call_context, signed_in

PAGE_SIZE = 50
LIST_COLUMNS = 4
FILTERABLE = (FieldType.CHOICE, FieldType.BOOLEAN, FieldType.USER)
SORTABLE_TYPES = (
    FieldType.TEXT, FieldType.NUMBER, FieldType.INTEGER, FieldType.MONEY, FieldType.PERCENT,
    FieldType.DATE, FieldType.DATETIME, FieldType.CHOICE, FieldType.RATING,
)  # fmt: skip


# --------------------------------------------------------------------------- helpers


def _tz() -> Any:
    return call_context().tz


def _record_urls(app: PublishedApp, entity: Entity, record_id: int) -> dict[str, str]:
    args: dict[str, Any] = {"app_key": app.key, "entity_key": entity.key, "record_id": record_id}
    return {
        "edit": url_for("apps.edit_record", **args),
        "detail": url_for("apps.record_detail", **args),
        "share": url_for("apps.record_detail", _external=True, **args),
        "state": url_for("apps.form_state", app_key=app.key, entity_key=entity.key, record=record_id),
        "stage": url_for("apps.move_stage", **args),
    }


def _pop_prompts() -> list[dict[str, Any]]:
    prompts = session.pop("prompts", None)
    return prompts if isinstance(prompts, list) else []


def _sort_options(entity: Entity) -> list[tuple[str, str]]:
    options = [("-created_at", _("Newest first")), ("created_at", _("Oldest first")), ("-updated_at", _("Recently updated"))]
    for f in entity.fields:
        if f.type in SORTABLE_TYPES and (f.index or f.unique or f.key == entity.title_field):
            options.append((f.key, text(f.label) + " ↑"))
            options.append(("-" + f.key, text(f.label) + " ↓"))
    return options


def _list_columns(entity: Entity) -> list[Field]:
    skip = {FieldType.LONG_TEXT, FieldType.LOCATION, FieldType.PHOTO, FieldType.FILE}
    return [f for f in entity.fields if f.type not in skip and f.key != entity.title_field][:LIST_COLUMNS]


# --------------------------------------------------------------------------- apps and lists


@bp.get("/")
@login_required  # type: ignore[misc]
def index() -> str:
    """The workspace's published apps and their entities."""
    who = signed_in()
    apps = []
    for row in DefinitionRepository(db.session(), who.workspace.id).apps():
        if row.published_revision_id is None:
            continue
        try:
            apps.append(published(row.key))
        except NotFound:
            continue
    return render_template("apps/index.html", apps=apps)


@bp.get("/<app_key>/<entity_key>/")
@login_required  # type: ignore[misc]
def list_records(app_key: str, entity_key: str) -> str | tuple[str, int]:
    """One page of an entity's records: search, filters, sorting, keyset "more" link.

    There is no total count: counting a large table on every page view costs a full scan,
    and a rep needs the next page, not the number of pages.
    """
    app = published(app_key)
    entity = app.entity(entity_key)
    service = records(app)
    sorts = _sort_options(entity)
    sort = request.args.get("sort") or "-created_at"
    sort = {"-id": "-created_at", "id": "created_at"}.get(sort, sort)  # links from before
    if sort not in {s for s, _label in sorts}:
        sort = "-created_at"
    search = (request.args.get("q") or "").strip()[:100] or None
    filters: dict[str, Any] = {}
    for f in entity.fields:
        raw = request.args.get("f." + f.key)
        if f.type in FILTERABLE and raw not in (None, ""):
            filters[f.key] = raw == "true" if f.type is FieldType.BOOLEAN else (
                int(raw) if f.type is FieldType.USER and raw.isdigit() else raw
            )
    stage_filter = request.args.get("f.stage")
    if entity.stages and stage_filter:
        filters["stage"] = stage_filter
    mine = request.args.get("mine") == "1"
    if mine:
        filters["owner"] = signed_in().user.id
    after = request.args.get("after") or None
    error = None
    drill = None
    try:
        drill = drill_from_args(app, entity, request.args)
        page = service.list(
            entity_key, search=search, filters=filters, order_by=sort, after=after, limit=PAGE_SIZE,
            condition=drill.condition if drill else None,
        )
        items, next_cursor = page.items, page.next_cursor
    except (Invalid, DrillRefused) as exc:  # a bad cursor, filter value or drill: say so above an empty list
        items, next_cursor = [], None
        error = exc.message if language() == "en" else exc.message_zh
    refs = resolve(reads(app), app, entity, items)
    more_args: dict[str, Any] = request.args.to_dict()
    more_args["after"] = next_cursor or ""
    template = "apps/_rows.html" if request.headers.get("HX-Request") and after else "apps/list.html"
    return render_template(
        template,
        app=app,
        entity=entity,
        items=items,
        refs=refs,
        columns=_list_columns(entity),
        next_url=url_for("apps.list_records", app_key=app.key, entity_key=entity.key, **more_args) if next_cursor else None,
        search=search or "",
        sort=sort,
        sorts=sorts,
        filters=filters,
        filter_fields=[f for f in entity.fields if f.type in FILTERABLE],
        users=workspace_users(),
        mine=mine,
        error=error,
        drill=drill,
        drill_args=drill_args(request.args),
        can_create=service.can(entity_key, "create"),
        tz=_tz(),
        display=display,
        title_of=title_of,
        local_time=local_time,
    ), (422 if error else 200)


@bp.get("/<app_key>/<entity_key>/lookup")
@login_required  # type: ignore[misc]
def lookup(app_key: str, entity_key: str) -> Response:
    """Records of an entity matching ``q``, for link pickers: ``{"items": [{id, title}]}``."""
    app = published(app_key)
    entity = app.entity(entity_key)
    search = (request.args.get("q") or "").strip()[:100] or None
    page = records(app).list(entity_key, search=search, limit=20)
    return jsonify(items=[{"id": r["id"], "title": title_of(entity, r)} for r in page.items])


# --------------------------------------------------------------------------- forms


def _prefill(entity: Entity) -> MultiDict[str, str]:
    """Form data from the query string of an entry link (``?customer=12``: S4 check-in links)."""
    data: MultiDict[str, str] = MultiDict()
    keys = {f.key for f in entity.fields if f.type is not FieldType.FORMULA}
    for name, values in request.args.lists():
        if name.split("__")[0] in keys:
            for value in values:
                data.add(PREFIX + name, value)
    return data


def _render_form(
    app: PublishedApp,
    entity: Entity,
    form: RecordForm,
    state: Mapping[str, Any],
    record: Mapping[str, Any] | None,
    *,
    errors: Mapping[str, list[str]] | None = None,
    message: str | None = None,
    failed_card: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    refs = resolve(reads(app), app, entity, [_draft_refs(entity, form, record)])
    record_id = record.get("id") if record else None
    urls = (
        _record_urls(app, entity, int(record_id))
        if record_id
        else {"state": url_for("apps.form_state", app_key=app.key, entity_key=entity.key)}
    )
    action = urls.get("edit") or url_for("apps.new_record", app_key=app.key, entity_key=entity.key)
    context = form_context(
        entity,
        form,
        state,
        urls=urls,
        action=action,
        refs=refs,
        users=workspace_users(),
        tz=_tz(),
        upload_url=lambda key: url_for("apps.upload", app_key=app.key, entity_key=entity.key, field_key=key),
        lookup_url=lambda target: url_for("apps.lookup", app_key=app.key, entity_key=target),
        file_url=lambda fid: url_for("apps.download", file_id=fid, **({"app": app.key, "entity": entity.key, "record": record_id} if record_id else {})),
    )
    context.update(
        app=app,
        record=record,
        errors=errors or {},
        message=message,
        failed_card=failed_card,
        stage_error=session.pop("stage_error", None),
        prompts=_pop_prompts(),
        title=title_of(entity, record) if record else text(entity.label),
    )
    return render_template("apps/form.html", **context), status


def _draft_refs(entity: Entity, form: RecordForm, record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values whose names the form shows (link titles, files), from the form's data."""
    values: dict[str, Any] = dict(record or {})
    for f in entity.fields:
        wtf = form.field_for(f.key)
        if wtf is not None and f.type in (FieldType.LINK, FieldType.PHOTO, FieldType.FILE, FieldType.USER):
            values[f.key] = wtf.data
    return values


@bp.route("/<app_key>/<entity_key>/new", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def new_record(app_key: str, entity_key: str) -> Any:
    """The form for a new record (the runtime refuses roles that may not create: 403)."""
    app = published(app_key)
    entity = app.entity(entity_key)
    service = records(app)
    if request.method == "POST":
        return _save(app, entity, service, None)
    prefill = _prefill(entity)
    form = record_form(entity, tz=_tz(), formdata=prefill, use_request=False)
    draft = posted_values(form, prefill, tz=_tz(), lang=language())
    state = service.form_state(entity_key, None, draft.values)
    return _render_form(app, entity, form, state, None)


@bp.route("/<app_key>/<entity_key>/<int:record_id>/edit", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def edit_record(app_key: str, entity_key: str, record_id: int) -> Any:
    """The form of a stored record."""
    app = published(app_key)
    entity = app.entity(entity_key)
    service = records(app)
    if request.method == "POST":
        return _save(app, entity, service, record_id)
    record = service.get(entity_key, record_id)
    state = service.form_state(entity_key, record_id)
    form = record_form(entity, record=record, tz=_tz(), use_request=False)
    return _render_form(app, entity, form, state, record)


def _save(app: PublishedApp, entity: Entity, service: RecordService, record_id: int | None) -> Any:
    """Creates or updates from the posted form; JSON for the page's script, else redirect."""
    tz = _tz()
    lang = language()
    current = service.get(entity.key, record_id) if record_id is not None else None
    form = record_form(entity, record=current, tz=tz)
    errors: dict[str, list[str]] = {}
    _store_uploads(entity, form, errors)
    posted = posted_values(form, request.form, tz=tz, lang=lang)
    errors.update(posted.errors)
    values = dict(posted.values)
    if current is None:
        values = {k: v for k, v in values.items() if v is not None and v != []}
    else:
        values = {k: v for k, v in values.items() if display_value(entity.field(k), current.get(k), tz) != v}  # type: ignore[arg-type]
    if errors:
        if posted.problems and set(errors) == set(posted.problems):
            described = describe(entity, posted.problems)
            message = in_language(described.message, described.message_zh, lang)
        else:
            message = _("Some fields need your attention.") + " " + " ".join(e for messages in errors.values() for e in messages)
        return _refused(app, entity, service, form, current, errors, message, 422)
    # A card's own submit button posts its step key: saving the card completes the step,
    # refused (step_incomplete, naming each unmet field) while a requirement is unmet.
    posted_step = request.form.get("_step") or None
    complete = posted_step if posted_step and entity.step(posted_step) is not None else None
    try:
        if record_id is None:
            result = service.create(entity.key, values, complete=complete)
        else:
            version = request.form.get("_version", type=int)
            result = service.update(entity.key, record_id, values, version=version, complete=complete)
    except Conflict as exc:
        return _refused(app, entity, service, form, current, exc.errors, in_language(exc.message, exc.message_zh, lang), 409)
    except Invalid as exc:
        return _refused(
            app, entity, service, form, current, field_texts(exc, lang), in_language(exc.message, exc.message_zh, lang), exc.status,
            fields=exc.fields,
        )
    saved_id = int(result.record["id"])
    prompts = [p.as_json() for p in result.prompts]
    urls = _record_urls(app, entity, saved_id)
    if wants_json():
        return jsonify(
            record=record_json(result.record),
            version=result.record["version"],
            prompts=prompts,
            completed_steps=result.completed_steps,
            state=service.form_state(entity.key, saved_id),
            urls=urls,
            message=_("Saved."),
        )
    if prompts:
        session["prompts"] = prompts
    flash(_("Saved."), "success")
    return redirect(urls["edit"])


def _store_uploads(entity: Entity, form: RecordForm, errors: dict[str, list[str]]) -> None:
    """Files posted without the page's script (``<key>__upload``) are stored and added."""
    for f in entity.fields:
        if f.type not in (FieldType.PHOTO, FieldType.FILE):
            continue
        wtf = form.field_for(f.key)
        if wtf is None:
            continue
        for storage in request.files.getlist(wtf.name + "__upload"):
            if not storage or not storage.filename:
                continue
            try:
                row = files().store(
                    storage.filename,
                    storage.stream,
                    actor_id=signed_in().user.id,
                    accept=_accept(f),
                    max_bytes=(f.max_size_mb or 0) * 1024 * 1024 or None,
                )
            except FileRefused as exc:
                label_en, label_zh = labels(entity, f.key)
                errors.setdefault(f.key, []).append(in_language(f"{label_en}: {exc.message}", f"{label_zh}:{exc.message_zh}"))
                continue
            wtf.data = ([*wtf.data] if f.multiple else []) + [row.id]


def _accept(f: Field) -> tuple[str, ...]:
    if f.accept:
        return f.accept
    return PHOTO_ACCEPT if f.type is FieldType.PHOTO else DEFAULT_ACCEPT


def _refused(
    app: PublishedApp,
    entity: Entity,
    service: RecordService,
    form: RecordForm,
    current: Mapping[str, Any] | None,
    errors: Mapping[str, list[str]],
    message: str,
    status: int,
    *,
    fields: Mapping[str, dict[str, Any]] | None = None,
) -> Any:
    """A refused save: problem+json for the script, the form again (with errors) otherwise.

    ``errors`` are what a person reads next to each field (labelled, in their language);
    the message is shown at the top and inside the card whose Save was pressed.
    """
    card = _failed_card(entity, errors)
    if wants_json():
        extra: dict[str, Any] = {"lang": language(), "message": message, "card": card}
        if fields:
            extra["fields"] = localized_fields(dict(fields))
        return problem(status, "save_refused", "Save refused", message, detail_zh=message, errors=dict(errors), extra=extra)
    record_id = current.get("id") if current else None
    draft = posted_values(form, request.form, tz=_tz(), lang=language())
    try:
        state = service.form_state(entity.key, record_id, draft.values)
    except Invalid:
        state = service.form_state(entity.key, record_id)
    return _render_form(app, entity, form, state, current, errors=dict(errors), message=message, failed_card=card, status=status)


def _failed_card(entity: Entity, errors: Mapping[str, list[str]]) -> str:
    """The card where the refused save was made: the step of the pressed Save button
    ("main" for the fields outside steps), else the card of the first field in error."""
    pressed = request.form.get("_step")
    if pressed is not None:
        return pressed if entity.step(pressed) is not None else "main"
    in_steps = {k: s.key for s in entity.steps for k in s.fields}
    for f in entity.fields:
        if f.key in errors:
            return in_steps.get(f.key, "main")
    return "main"


@bp.post("/<app_key>/<entity_key>/state")
@login_required  # type: ignore[misc]
def form_state(app_key: str, entity_key: str) -> Response:
    """Steps, field states and stage exit criteria for the form's current (unsaved) values.

    The page posts its form here after every change; the answer comes from the same
    evaluation a save uses, so a card unlocks the moment its condition holds.
    """
    app = published(app_key)
    entity = app.entity(entity_key)
    service = records(app)
    record_id = request.args.get("record", type=int)
    current = service.get(entity_key, record_id) if record_id is not None else None
    form = record_form(entity, record=current, tz=_tz(), formdata=request.form, use_request=False)
    draft = posted_values(form, request.form, tz=_tz(), lang=language())
    state = service.form_state(entity_key, record_id, draft.values)
    return jsonify(state=state, errors=draft.errors, lang=language())


@bp.post("/<app_key>/<entity_key>/<int:record_id>/stage")
@login_required  # type: ignore[misc]
def move_stage(app_key: str, entity_key: str, record_id: int) -> Any:
    """Moves the record to another stage; refused with the failing exit criteria named."""
    app = published(app_key)
    entity = app.entity(entity_key)
    service = records(app)
    service.get(entity_key, record_id)  # 404 before anything else says more
    target = request.form.get("stage", "")
    version = request.form.get("_version", type=int)
    urls = _record_urls(app, entity, record_id)
    try:
        result = service.move_stage(entity_key, record_id, target, version=version)
    except Invalid as exc:
        message = in_language(exc.message, exc.message_zh)
        if wants_json():
            extra: dict[str, Any] = {"lang": language(), "message": message}
            if exc.fields:
                extra["fields"] = localized_fields(exc.fields)
            return problem(exc.status, exc.code, "Stage change refused", exc.message, detail_zh=exc.message_zh, errors=exc.errors, extra=extra)
        session["stage_error"] = message  # shown in the stage bar, where the move was asked
        return redirect(urls["edit"])
    except Conflict as exc:
        flash(exc.message if language() == "en" else exc.message_zh, "error")
        return redirect(urls["edit"])
    if result.prompts:
        session["prompts"] = [p.as_json() for p in result.prompts]
    flash(_("Stage changed."), "success")
    return redirect(urls["edit"])


# --------------------------------------------------------------------------- detail


@bp.get("/<app_key>/<entity_key>/<int:record_id>")
@login_required  # type: ignore[misc]
def record_detail(app_key: str, entity_key: str, record_id: int) -> str:
    """A record with its steps and its timeline (its own and its related records' events, S24).

    The page's address is the share link: whoever opens it must be signed in and allowed
    to read the record (others get 404, as for a record that does not exist).
    """
    app = published(app_key)
    entity = app.entity(entity_key)
    service = records(app)
    record = service.get(entity_key, record_id)
    state = service.form_state(entity_key, record_id)
    days = request.args.get("days", type=int)
    since = call_context().now() - timedelta(days=days) if days and 0 < days <= 3660 else None
    events = service.timeline(entity_key, record_id, since=since)
    refs = resolve(reads(app), app, entity, [record])
    timeline = timeline_rows(reads(app), app, events, _tz())
    ctx = call_context()
    why = why_assigned(
        ctx.session, ctx.workspace_id, app_id=app.app_id, entity=entity.key, record_id=record_id,
        actor_id=ctx.actor.id, actor_role=ctx.actor.role,
    )
    return render_template(
        "apps/detail.html",
        why=why,
        why_text=why["explanation"]["zh" if language() == "zh" else "en"] if why else None,
        app=app,
        entity=entity,
        record=record,
        state=state,
        refs=refs,
        timeline=timeline,
        days=days if since else None,
        urls=_record_urls(app, entity, record_id),
        title=title_of(entity, record),
        tz=_tz(),
        display=display,
        local_time=local_time,
        file_url=lambda fid: url_for("apps.download", file_id=fid, app=app.key, entity=entity.key, record=record_id),
        when=lambda value: local_time(parse_time(value), _tz()),
        related=_related(app, entity, record_id),
        prompts=_pop_prompts(),
    )


def _related(app: PublishedApp, entity: Entity, record_id: int) -> list[dict[str, str]]:
    """"Add a commitment" links: new records of entities that link to this one, prefilled."""
    links = []
    for other in app.definition.entities:
        if other.key in app.archived_entities:
            continue
        for f in other.fields:
            if f.type is FieldType.LINK and f.target == entity.key:
                label = text(f.related_label) if f.related_label else text(other.label)
                prefill: dict[str, Any] = {f.key: record_id}
                url = url_for("apps.new_record", app_key=app.key, entity_key=other.key, **prefill)
                links.append({"label": label, "url": url})
    return links
