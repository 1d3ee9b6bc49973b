"""The long-lived pieces of a Cairn process: settings, engine, sessions, clock, listeners.

The web app, the CLI and the worker each build one :class:`Platform` at start-up and pass
it (or what they take from it) down explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from runtime.clock import Clock, SystemClock
from runtime.db import make_engine, make_session_factory, read_only
from runtime.settings import Settings


@dataclass
class Platform:
    """Process-wide state; cheap to pass around, built once."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    listeners: list[Any] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> Platform:
        """Builds the engine and session factory for ``settings``."""
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            clock=clock or SystemClock(),
        )

    def session(self) -> Session:
        """A new session (the caller closes it)."""
        return self.sessions()

    def read_session(self) -> Session:
        """A new session for work that only reads (the caller closes it).

        On SQLite its transactions begin deferred and never take the write lock; it must
        not be used to write.
        """
        return self.sessions(bind=read_only(self.engine))

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()
