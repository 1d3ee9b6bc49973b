"""Run history and rule health: the cause of a run's failure, keyset indexes, thresholds

``automation_trigger_runs.cause`` says why a run did not succeed (``missing_manager``,
``no_recipient``, ``invalid_write`` …) so the health board can group failures by cause.
The new indexes serve the run history (newest first by id, by rule, outcome or record)
and the health board (runs finished in a window). ``automation_rule_thresholds`` holds
the alert threshold of a workspace (scope ``*``) and of single rules.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table('automation_trigger_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cause', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_automation_trigger_runs_app_id', ['app_id', 'id'], unique=False)
        batch_op.create_index('ix_automation_trigger_runs_rule_id', ['app_id', 'trigger_key', 'id'], unique=False)
        batch_op.create_index('ix_automation_trigger_runs_status_id', ['app_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_automation_trigger_runs_record_id', ['app_id', 'record_id', 'id'], unique=False)
        batch_op.create_index(
            'ix_automation_trigger_runs_finished', ['app_id', 'finished_at', 'trigger_key', 'status'], unique=False
        )
    op.create_table(
        'automation_rule_thresholds',
        sa.Column('id', _ID, nullable=False),
        sa.Column('workspace_id', _ID, nullable=False),
        sa.Column('scope', sa.String(length=100), nullable=False),
        sa.Column('app_id', _ID, nullable=True),
        sa.Column('trigger_key', sa.String(length=63), nullable=True),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ['app_id'], ['apps.id'],
            name=op.f('fk_automation_rule_thresholds_app_id_apps'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['workspace_id'], ['workspaces.id'],
            name=op.f('fk_automation_rule_thresholds_workspace_id_workspaces'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_rule_thresholds')),
        sa.UniqueConstraint('workspace_id', 'scope', name=op.f('uq_automation_rule_thresholds_workspace_id_scope')),
    )


def downgrade() -> None:
    op.drop_table('automation_rule_thresholds')
    with op.batch_alter_table('automation_trigger_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_automation_trigger_runs_finished')
        batch_op.drop_index('ix_automation_trigger_runs_record_id')
        batch_op.drop_index('ix_automation_trigger_runs_status_id')
        batch_op.drop_index('ix_automation_trigger_runs_rule_id')
        batch_op.drop_index('ix_automation_trigger_runs_app_id')
        batch_op.drop_column('cause')
