"""audit_events.message_zh: a refused write's message in Chinese beside the English one

The history shows each reader the message in their own language. Events stored before
this revision have only the English ``message``; readers of Chinese see that one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_zh', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('message_zh')
