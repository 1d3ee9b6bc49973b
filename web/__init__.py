"""Cairn's web layer: the Flask app factory, blueprints, pages and the REST API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from runtime.clock import Clock
from runtime.platform import Platform
from runtime.settings import Settings

__all__ = ["create_app"]

def create_app(
    config: Settings | Mapping[str, Any] | None = None, *, clock: Clock | None = None
) -> Flask:
    """Builds the Flask app.

    ``config`` is a :class:`Settings`, a mapping of setting overrides, or None to read the
    environment. ``clock`` replaces the system clock (tests freeze time with it).
    """
    if isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_env()
        if config:
            settings = settings.with_overrides(**dict(config))
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=(settings.max_upload_mb + 1) * 1024 * 1024,
        TESTING=settings.testing,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # CSRF tokens live as long as the session: a rep who keeps a visit form open
        # for an afternoon can still save it.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken"],
    )
    platform = Platform.from_settings(settings, clock=clock)
    # The trigger engine listens to every record write (outbox rows, S8 prompts); install()
    # adds it once, so a platform shared with the worker is not wired twice.
    from runtime.automation.engine import install as install_trigger_engine

    install_trigger_engine(platform)
    app.extensions["cairn"] = platform

    from web import assets, cli, csrf, db, errors, form_limits, i18n, login, ops, routing, security

    routing.init_app(app)
    cli.init_app(app)
    db.init_app(app)
    ops.init_app(app)
    errors.init_app(app)
    security.init_app(app, settings)
    form_limits.init_app(app)
    i18n.init_app(app)
    login.init_app(app)
    assets.init_app(app)
    _register_blueprints(app)
    csrf.init_app(app)
    from web import cli

    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    """Every feature's blueprint; each feature lives in its own sub-package."""
    from web.admin import bp as admin_bp
    from web.api import bp as api_bp
    from web.apps import bp as apps_bp
    from web.auth import bp as auth_bp
    from web.dashboard_export import bp as dashboard_export_bp
    from web.dashboards import bp as dashboards_bp
    from web.design import bp as design_bp
    from web.home import bp as home_bp
    from web.inbox import bp as inbox_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(apps_bp)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(design_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(dashboard_export_bp)
