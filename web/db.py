"""The request's database session and the process's :class:`Platform`."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from runtime.platform import Platform


def platform() -> Platform:
    """The platform of the current app."""
    return current_app.extensions["cairn"]  # type: ignore[no-any-return]


#: Requests that only read: their session doesn't take SQLite's write lock.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session() -> Session:
    """The request's session, opened on first use and closed when the request ends.

    A GET, HEAD or OPTIONS request gets a read-only session (see ``runtime.db``): those
    requests must not write.
    """
    if "db_session" not in g:
        cairn = platform()
        reads = has_request_context() and request.method in READ_METHODS
        g.db_session = cairn.read_session() if reads else cairn.session()
    return g.db_session  # type: ignore[no-any-return]


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def init_app(app: Flask) -> None:
    """Closes each request's session at teardown."""
    app.teardown_appcontext(_close_session)
