"""The designer's phone preview: the rep's form of an entity, rendered from the app's draft.

``GET /design/apps/<app_id>/preview/<entity>`` renders the same form partial as the record
pages (``apps/_record_form.html``) from :func:`runtime.preview.load_preview` — the draft
revision, validated, bound to no tables — for a 390×844 frame of the designer page.
``POST .../state`` answers what ``POST /a/<app>/<entity>/state`` answers, computed from the
draft, so ``cairn.js`` locks and unlocks cards inside the preview exactly as on the phone.
Nothing is written: the form can't be saved, link pickers and uploads are inert, and the
state endpoint only reads. Both routes may be framed by this site's pages (the designer),
no other route may.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from runtime.preview import DraftApp, DraftInvalid, FormPreview, load_preview
from web import db
from web.apps.forms import posted_values, record_form
from web.apps.present import References, form_context
from web.apps.services import workspace_users
from web.design import bp
from web.errors import in_language, problem
from web.i18n import language
from web.login import call_context
from web.security import allow_same_origin_framing

PREVIEW_ENDPOINTS = frozenset({"design.preview", "design.preview_state"})


@bp.after_request
def _framed_by_the_designer(response: Response) -> Response:
    """The preview routes (and only they, error pages included) may be framed by this site."""
    if request.endpoint in PREVIEW_ENDPOINTS:
        allow_same_origin_framing(response)
    return response


def _draft(app_id: int) -> DraftApp:
    """The app as the designer previews it (see ``runtime.preview.preview_revision``)."""
    ctx = call_context()
    return load_preview(db.session(), ctx.workspace_id, app_id)


def _inert(_key: Any) -> str:
    """The address of a lookup, upload or download in the preview: none."""
    return ""


@bp.get("/apps/<int:app_id>/preview/<entity_key>")
def preview(app_id: int, entity_key: str) -> Any:
    """The rep's form of ``entity_key`` as the draft defines it (a new record)."""
    try:
        app = _draft(app_id)
    except DraftInvalid as exc:
        return render_template("design/preview_invalid.html", error=exc, problems=exc.problems), 422
    entity = app.entity(entity_key)
    ctx = call_context()
    form = record_form(entity, tz=ctx.tz, formdata=MultiDict(), use_request=False)
    state = FormPreview(ctx, app).form_state(entity_key)
    here = url_for("design.preview", app_id=app_id, entity_key=entity_key)
    context = form_context(
        entity,
        form,
        state,
        urls={"state": url_for("design.preview_state", app_id=app_id, entity_key=entity_key)},
        action=here,
        refs=References(),
        users=workspace_users(),
        tz=ctx.tz,
        upload_url=_inert,
        lookup_url=_inert,
        file_url=_inert,
    )
    context.update(app=app, preview=True)
    return render_template("design/preview.html", **context)


@bp.post("/apps/<int:app_id>/preview/<entity_key>/state")
def preview_state(app_id: int, entity_key: str) -> Response:
    """Steps, field states, formulas and stage exit criteria of the posted (unsaved) form,
    from the draft: the answer of ``/a/<app>/<entity>/state`` once it is published."""
    try:
        app = _draft(app_id)
    except DraftInvalid as exc:
        message = in_language(exc.message, exc.message_zh)
        return problem(
            422,
            exc.code,
            "Draft has problems",
            exc.message,
            detail_zh=exc.message_zh,
            extra={"lang": language(), "message": message, "diagnostics": [p.as_dict() for p in exc.problems]},
        )
    entity = app.entity(entity_key)
    ctx = call_context()
    form = record_form(entity, tz=ctx.tz, formdata=request.form, use_request=False)
    posted = posted_values(form, request.form, tz=ctx.tz, lang=language())
    state = FormPreview(ctx, app).form_state(entity_key, posted.values)
    return jsonify(state=state, errors=posted.errors, lang=language())
