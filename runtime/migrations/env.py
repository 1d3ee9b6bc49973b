"""Alembic environment for Cairn's platform tables (run through runtime.migrate)."""

from __future__ import annotations

from alembic import context

import runtime.platform_models  # noqa: F401  (registers every platform table)
from builder.repository import PlatformBase

config = context.config
target_metadata = PlatformBase.metadata


def run_migrations() -> None:
    """Runs the migrations on the connection handed in by runtime.migrate."""
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
