"""The inbox of every signed-in user: the bell with the unread count, the inbox page, mark read.

The messages are the notify action's ``inbox`` channel and rule-health alerts
(:mod:`runtime.automation.inbox`). ``base.html`` shows the bell through the
``inbox_unread`` template function this blueprint provides to every page.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("inbox", __name__, template_folder="templates")

from web.inbox import views  # noqa: E402,F401  (registers the routes)
