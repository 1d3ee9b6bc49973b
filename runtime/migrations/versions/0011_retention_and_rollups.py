"""Retention: per-workspace retention settings, daily run rollups, purge indexes

``workspace_retention`` holds how long each kind of history is kept (runtime.retention).
``automation_run_daily`` keeps the counts of purged trigger runs per rule, UTC day,
outcome and cause, so rule health stays true after detail rows are deleted. The new
indexes let the purge find old rows by workspace and time: done outbox rows by
``(workspace_id, status, finished_at)``, events by ``(workspace_id, at)``, notifications
by ``(workspace_id, read_at)``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'workspace_retention',
        sa.Column('id', _ID, nullable=False),
        sa.Column('workspace_id', _ID, nullable=False),
        sa.Column('outbox_days', sa.Integer(), nullable=False),
        sa.Column('runs_days', sa.Integer(), nullable=False),
        sa.Column('events_days', sa.Integer(), nullable=False),
        sa.Column('notifications_days', sa.Integer(), nullable=False),
        sa.Column('audit_days', sa.Integer(), nullable=True),
        sa.Column('last_purge_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('updated_by', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ['workspace_id'], ['workspaces.id'],
            name=op.f('fk_workspace_retention_workspace_id_workspaces'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workspace_retention')),
        sa.UniqueConstraint('workspace_id', name=op.f('uq_workspace_retention_workspace_id')),
    )
    op.create_table(
        'automation_run_daily',
        sa.Column('id', _ID, nullable=False),
        sa.Column('workspace_id', _ID, nullable=False),
        sa.Column('app_id', _ID, nullable=False),
        sa.Column('trigger_key', sa.String(length=63), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('cause', sa.String(length=32), nullable=False),
        sa.Column('runs', sa.BigInteger(), nullable=False),
        sa.Column('last_finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['app_id'], ['apps.id'], name=op.f('fk_automation_run_daily_app_id_apps'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['workspace_id'], ['workspaces.id'],
            name=op.f('fk_automation_run_daily_workspace_id_workspaces'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_run_daily')),
        sa.UniqueConstraint(
            'app_id', 'trigger_key', 'day', 'kind', 'status', 'cause',
            name=op.f('uq_automation_run_daily_app_id_trigger_key_day_kind_status_cause'),
        ),
    )
    op.create_index('ix_automation_run_daily_workspace_day', 'automation_run_daily', ['workspace_id', 'day'])
    op.create_index(
        'ix_automation_outbox_finished', 'automation_outbox', ['workspace_id', 'status', 'finished_at']
    )
    op.create_index('ix_automation_events_workspace_at', 'automation_events', ['workspace_id', 'at'])
    op.create_index('ix_notifications_read', 'notifications', ['workspace_id', 'read_at'])


def downgrade() -> None:
    op.drop_index('ix_notifications_read', table_name='notifications')
    op.drop_index('ix_automation_events_workspace_at', table_name='automation_events')
    op.drop_index('ix_automation_outbox_finished', table_name='automation_outbox')
    op.drop_index('ix_automation_run_daily_workspace_day', table_name='automation_run_daily')
    op.drop_table('automation_run_daily')
    op.drop_table('workspace_retention')
