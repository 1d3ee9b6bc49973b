"""Sign-in and sign-out pages, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from werkzeug.wrappers import Response

from runtime.errors import Unauthenticated
from runtime.workspaces import IdentityService
from web import db
from web.auth import bp
from web.auth.forms import SignInForm
from web.auth.throttle import minutes, throttle
from web.i18n import LOCALES, normalize
from web.login import SignedIn, _load


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site (no scheme, no host, no ``//``), else ``default``.

    Stops an attacker's link ``/login?next=https://evil.example`` from sending a person
    who just signed in to another site.
    """
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The sign-in page; on success, back to where the person was going."""
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error = None
    if form.validate_on_submit():
        clock = db.platform().clock
        guard = throttle()
        username = form.username.data or ""
        limits = guard.sign_in_limits(username, request.remote_addr)
        wait = guard.wait(limits)
        if wait is not None:
            error = _("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=minutes(wait))
            page = render_template("auth/login.html", form=form, error=error)
            return page, 429, {"Retry-After": str(int(wait) + 1)}
        identity = IdentityService(db.session(), clock)
        try:
            user = identity.authenticate_password(username, form.password.data or "")
        except Unauthenticated:
            guard.failed(limits)
            error = _("Wrong username or password.")
        else:
            guard.succeeded_sign_in(username, request.remote_addr)
            who = _load(str(user.id))
            if who is not None:
                # A fresh session at sign-in: nothing set before it (by anyone) survives.
                locale = session.get("locale")
                session.clear()
                if locale:
                    session["locale"] = locale
                login_user(who)
                return redirect(safe_next(form.next.data, url_for("home.index")))
            error = _("Wrong username or password.")
    elif request.method == "POST" and form.errors and not error:
        error = _("Enter your username and password.")
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required  # type: ignore[misc]
def logout() -> Response:
    """Signs out (a POST with the CSRF token, so no other site can sign a person out)."""
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    return redirect(url_for("auth.login"))


@bp.post("/locale")
def set_locale() -> Response:
    """Switches the UI language for this browser session."""
    chosen = normalize(request.form.get("locale"))
    if chosen in LOCALES:
        session["locale"] = chosen
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))


__all__ = ["SignedIn", "login", "logout", "safe_next", "set_locale"]
