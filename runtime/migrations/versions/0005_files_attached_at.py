"""files.attached_at: when a record first referred to the file

Files uploaded before this revision are treated as attached, so the purge of never-attached
uploads leaves them alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:00:28.468732
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attached_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_files_unattached', ['attached_at', 'created_at'], unique=False)

    files = sa.table('files', sa.column('attached_at', sa.DateTime()), sa.column('created_at', sa.DateTime()))
    op.execute(files.update().values(attached_at=files.c.created_at))


def downgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_index('ix_files_unattached')
        batch_op.drop_column('attached_at')

