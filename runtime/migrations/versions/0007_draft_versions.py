"""app_revisions.version, updated_at, updated_by: the designer's draft is saved optimistically

A draft revision is saved again and again while an admin edits it; ``version`` counts the
saves so that two admins editing one draft never overwrite each other silently, and
``updated_at`` / ``updated_by`` say who saved it last (shown when a save is refused).
Existing revisions start at version 1, last updated when they were created.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 07:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('updated_by', sa.BigInteger(), nullable=True))
    op.execute(sa.text('UPDATE app_revisions SET updated_at = created_at, updated_by = created_by'))


def downgrade() -> None:
    with op.batch_alter_table('app_revisions', schema=None) as batch_op:
        batch_op.drop_column('updated_by')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
