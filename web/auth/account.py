"""The signed-in user's own account: changing their password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from runtime.errors import CairnError
from runtime.people import change_own_password
from web.auth import bp
from web.errors import field_texts, in_language
from web.login import call_context


@bp.route("/account/password", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def change_password() -> str | Response | tuple[str, int]:
    """Changes the signed-in user's password; the current one must be typed."""
    if request.method == "GET":
        return render_template("auth/password.html", error=None, errors={})
    try:
        change_own_password(
            call_context(),
            request.form.get("current_password", ""),
            request.form.get("new_password", ""),
            request.form.get("confirm_password", ""),
        )
    except CairnError as error:
        message = in_language(error.message, error.message_zh)
        return render_template("auth/password.html", error=message, errors=field_texts(error)), 422
    flash(_("Your password was changed."), "success")
    return redirect(url_for("home.index"))
