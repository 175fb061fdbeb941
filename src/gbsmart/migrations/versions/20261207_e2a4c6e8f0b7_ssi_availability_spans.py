"""SSI availability spans

Issue 13 point 5: ``ssi_availability_spans``, what the SSI probe saw (runs of up or down), from which CPM6 is
computed; and the journal's TRT class ``firmware`` (a firmware payload's delivery to the device, PM2), so the
gateway_messages.trt_class CHECK is rewritten over the classes as they are now.

Revision ID: e2a4c6e8f0b7
Revises: d0f2b4c6e8a5
Create Date: 2026-12-07 15:22:36.083968
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db
from gbsmart.core.db import enum_condition

revision = 'e2a4c6e8f0b7'
down_revision = 'd0f2b4c6e8a5'
branch_labels = None
depends_on = None

TRT_BEFORE = ('transform', 'on_demand', 'future_dated', 'non_device')
TRT = (*TRT_BEFORE, 'firmware')


def _trt_classes(values: tuple[str, ...]) -> None:
    with op.batch_alter_table('gateway_messages') as batch:
        batch.drop_constraint(op.f('ck_gateway_messages_trt_class'), type_='check')
        batch.create_check_constraint(op.f('ck_gateway_messages_trt_class'), enum_condition('trt_class', values))


def upgrade() -> None:
    op.create_table('ssi_availability_spans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('started_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('up', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ssi_availability_spans'))
    )
    with op.batch_alter_table('ssi_availability_spans', schema=None) as batch_op:
        batch_op.create_index('ix_ssi_availability_ended', ['ended_at'], unique=False)
    _trt_classes(TRT)



def downgrade() -> None:
    op.execute("UPDATE gateway_messages SET trt_class = 'non_device' WHERE trt_class = 'firmware'")
    _trt_classes(TRT_BEFORE)
    with op.batch_alter_table('ssi_availability_spans', schema=None) as batch_op:
        batch_op.drop_index('ix_ssi_availability_ended')

    op.drop_table('ssi_availability_spans')
