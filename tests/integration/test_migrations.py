"""The Alembic migrations create exactly the platform tables the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import runtime.platform_models  # noqa: F401  (every platform table)
from builder.repository import PlatformBase
from runtime.db import make_engine
from runtime.migrate import upgrade


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, PlatformBase.metadata)
        assert diff == [], diff
    finally:
        engine.dispose()
