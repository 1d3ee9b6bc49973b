"""Elapsed due table, claim counting: ``automation_elapsed_due`` and expired claims

``automation_elapsed_due`` holds each record's open episode per elapsed trigger (written
with the record, removed when a sweep settles it), so the sweep reads the index range of
due episodes instead of a time window over the records. ``automation_schedule_state``
remembers what the due rows were built for (``due_signature``) and the catch-up of
records already due then (``catchup_from`` … ``catchup_until``). The outbox counts claims
whose lease ran out (``expired_claims``: the worker died) apart from action failures
(``automation_action_runs.failures``), which alone spend an action's retry budget.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'automation_elapsed_due',
        sa.Column('app_id', _ID, nullable=False),
        sa.Column('trigger_key', sa.String(length=63), nullable=False),
        sa.Column('record_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('since', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['app_id'], ['apps.id'], name=op.f('fk_automation_elapsed_due_app_id_apps'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('app_id', 'trigger_key', 'record_id', name=op.f('pk_automation_elapsed_due')),
    )
    op.create_index(
        'ix_automation_elapsed_due_since', 'automation_elapsed_due', ['app_id', 'trigger_key', 'since'], unique=False
    )
    with op.batch_alter_table('automation_schedule_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_signature', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('catchup_from', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('catchup_until', sa.DateTime(), nullable=True))
    with op.batch_alter_table('automation_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expired_claims', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('automation_action_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failures', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('automation_action_runs', schema=None) as batch_op:
        batch_op.drop_column('failures')
    with op.batch_alter_table('automation_outbox', schema=None) as batch_op:
        batch_op.drop_column('expired_claims')
    with op.batch_alter_table('automation_schedule_state', schema=None) as batch_op:
        batch_op.drop_column('catchup_until')
        batch_op.drop_column('catchup_from')
        batch_op.drop_column('due_signature')
    op.drop_index('ix_automation_elapsed_due_since', table_name='automation_elapsed_due')
    op.drop_table('automation_elapsed_due')
