"""People and access: roles declared by apps, audit events of people and tokens

* ``users.role`` holds any role key an app may declare (63 characters, like every key);
* ``audit_events.app_id`` may be empty: changes to users, tokens and workspaces are
  audited beside record writes, and they belong to no app;
* ``ix_audit_events_workspace_at`` serves the audit-log viewer (newest first per workspace).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 07:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('role', existing_type=sa.String(length=32), type_=sa.String(length=63),
                              existing_nullable=False)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('app_id', existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_index('ix_audit_events_workspace_at', ['workspace_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_workspace_at')
    op.execute("DELETE FROM audit_events WHERE app_id IS NULL")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('app_id', existing_type=sa.BigInteger(), nullable=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('role', existing_type=sa.String(length=63), type_=sa.String(length=32),
                              existing_nullable=False)
