"""Pages of the admin console: people (users, roles, managers), API tokens and the audit log.

Every form posts back to its own page; a refused post re-renders the page with what was
typed and a message per field (zh-CN or English), with status 422. A secret made by a post
(a generated password, a new token) is shown once on the answer to that post and stored
nowhere in clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from runtime.errors import CairnError
from runtime.people import AuditFilter, AuditLog, PeopleService
from web.admin import bp
from web.api.people import csv_response
from web.apps.present import local_time
from web.errors import field_texts, in_language
from web.i18n import language
from web.login import call_context

Page = str | Response | tuple[str, int]

USER_FIELDS = ("username", "name", "password", "role", "region", "manager", "locale")


def _people() -> PeopleService:
    return PeopleService(call_context())


def _local(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tokens with their times in the workspace's time zone (``created_local``, ``last_used_local``)."""
    tz = call_context().tz
    for token in tokens:
        for key in ("created", "last_used"):
            value = token[f"{key}_at"]
            token[f"{key}_local"] = local_time(datetime.fromisoformat(value.rstrip("Z")), tz) if value else None
    return tokens


def _refusal(error: CairnError) -> tuple[str, dict[str, list[str]]]:
    return in_language(error.message, error.message_zh), field_texts(error)


def _form(keys: tuple[str, ...]) -> dict[str, str]:
    return {k: request.form.get(k, "") for k in keys}


def _list_page(people: PeopleService, form: dict[str, str] | None = None, error: str | None = None,
               errors: dict[str, list[str]] | None = None, created: dict[str, Any] | None = None,
               status: int = 200) -> tuple[str, int]:
    users = people.users()
    return render_template(
        "admin/people.html",
        users=users,
        roles=people.role_choices(),
        managers=[u for u in users if u["active"]],
        form=form or {"role": "rep"},
        error=error,
        errors=errors or {},
        created=created,
        flagged=[u for u in users if not u["role_declared"]],
    ), status


@bp.get("/people")
def people() -> Page:
    """Everyone in the workspace, with the form that adds a user."""
    return _list_page(_people())


@bp.post("/people")
def create_person() -> Page:
    """Adds a user; a generated password is shown once on the answer."""
    people = _people()
    form = _form(USER_FIELDS)
    data = {k: (v or None) for k, v in form.items()}
    try:
        created = people.create_user(data)
    except CairnError as error:
        message, errors = _refusal(error)
        form["password"] = ""
        return _list_page(people, form, message, errors, status=422)
    return _list_page(people, created={"user": people.user(created.user.id), "password": created.password},
                      status=201)


def _person_page(people: PeopleService, user_id: int, *, form: dict[str, str] | None = None,
                 error: str | None = None, errors: dict[str, list[str]] | None = None,
                 secret: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    person = people.user(user_id)
    others = [u for u in people.users() if u["active"] and u["id"] != user_id]
    values = form or {
        "name": person["name"], "role": person["role"], "region": person["region"] or "",
        "manager": str(person["manager"] or ""), "locale": person["locale"] or "",
    }
    roles = people.role_choices()
    if not person["role_declared"]:
        roles.append({"key": person["role"], "built_in": False, "apps": [], "undeclared": True})
    return render_template(
        "admin/person.html",
        person=person,
        roles=roles,
        managers=others,
        form=values,
        error=error,
        errors=errors or {},
        tokens=_local(people.tokens(user_id)),
        secret=secret,
        is_self=person["id"] == call_context().actor.id,
    ), status


@bp.get("/people/<int:user_id>")
def person(user_id: int) -> Page:
    """One user: name, role, team/region, manager, language; activation, password and tokens."""
    return _person_page(_people(), user_id)


@bp.post("/people/<int:user_id>")
def update_person(user_id: int) -> Page:
    """Saves the user's form."""
    people = _people()
    form = _form(("name", "role", "region", "manager", "locale"))
    data: dict[str, Any] = {k: (v.strip() or None) for k, v in form.items()}
    data["name"] = form["name"]
    try:
        people.update_user(user_id, data)
    except CairnError as error:
        if error.status == 404:
            raise
        message, errors = _refusal(error)
        return _person_page(people, user_id, form=form, error=message, errors=errors, status=422)
    flash(_("Saved."), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/people/<int:user_id>/active")
def set_active(user_id: int) -> Page:
    """Deactivates or reactivates the user (``active`` = 1 or 0)."""
    people = _people()
    active = request.form.get("active") == "1"
    try:
        people.set_active(user_id, active)
    except CairnError as error:
        if error.status == 404:
            raise
        message, errors = _refusal(error)
        return _person_page(people, user_id, error=message, errors=errors, status=422)
    flash(_("Reactivated.") if active else _("Deactivated: signed out, and their API tokens stop working."), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/people/<int:user_id>/password")
def reset_password(user_id: int) -> Page:
    """Sets a new password (generated when the field is empty) and shows it once."""
    people = _people()
    typed = request.form.get("password", "")
    try:
        password = people.reset_password(user_id, typed or None)
    except CairnError as error:
        if error.status == 404:
            raise
        message, errors = _refusal(error)
        return _person_page(people, user_id, error=message, errors=errors, status=422)
    return _person_page(people, user_id, secret={"kind": "password", "value": password})


@bp.post("/people/<int:user_id>/tokens")
def issue_token(user_id: int) -> Page:
    """Issues an API token for the user and shows it once."""
    people = _people()
    try:
        issued = people.issue_token(user_id, request.form.get("name", ""))
    except CairnError as error:
        if error.status == 404:
            raise
        message, errors = _refusal(error)
        return _person_page(people, user_id, error=message, errors=errors, status=422)
    return _person_page(people, user_id, secret={"kind": "token", "value": issued.secret}, status=201)


@bp.get("/tokens")
def tokens() -> Page:
    """Every API token of the workspace with its owner and last use."""
    people = _people()
    return render_template("admin/tokens.html", tokens=_local(people.tokens())), 200


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Page:
    """Revokes a token; back to where the button was."""
    people = _people()
    revoked = people.revoke_token(token_id)
    flash(_("Token %(name)s revoked: requests with it are refused from now on.", name=revoked["name"]), "success")
    back = request.form.get("back")
    if back == "person":
        return redirect(url_for("admin.person", user_id=revoked["user_id"]))
    return redirect(url_for("admin.tokens"))


@bp.get("/audit")
def audit() -> Page:
    """The audit log with filters, a page at a time, and its CSV export."""
    log = AuditLog(call_context())
    people = _people()
    args = {k: request.args.get(k, "") for k in ("since", "until", "actor", "app", "entity", "action", "outcome", "record_id")}
    try:
        flt = AuditFilter.parse(request.args)
    except CairnError as error:
        message, errors = _refusal(error)
        return render_template("admin/audit.html", events=[], next_before=None, form=args, error=message,
                               errors=errors, users=people.users(), export=None), 422
    before = request.args.get("before", "")
    items, next_before = log.events(flt, before=int(before) if before.isdigit() and int(before) < 2**63 else None,
                                    limit=50, locale=language())
    return render_template("admin/audit.html", events=items, next_before=next_before, form=args, error=None,
                           errors={}, users=people.users(), export=flt.query_args()), 200


@bp.get("/audit.csv")
def audit_csv() -> Response:
    """The filtered audit log as a CSV download."""
    log = AuditLog(call_context())
    return csv_response(log.csv_lines(AuditFilter.parse(request.args), locale=language()))
