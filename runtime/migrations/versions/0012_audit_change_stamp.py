"""Dashboards: an index giving an app entity's newest audit event in one index probe

Dashboard results are cached with a change stamp: the newest audit event id of each entity
a widget reads. ``max(id) … where app_id = ? and entity_key = ?`` reads the last entry of
this index, so checking whether a cached result is still current costs one small query
per dashboard request, and the record write path gains no statement.

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_app_entity_id', ['app_id', 'entity_key', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_app_entity_id')
