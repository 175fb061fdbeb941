"""anomaly detection thresholds and quarantine

The ADT tables (models/adt.py): per-User and DCC-wide thresholds, warnings, quarantined requests, the DCC Alerts
raised, the responsible officers' certificates; and the person roles Senior / Authorised Responsible Officer
(DP108), so the person_roles CHECK is rewritten over the roles as they are now.

Revision ID: c7a2d5e8f301
Revises: 5c1e8d93a7b2
Create Date: 2026-12-03 19:19:17.036593
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db
from gbsmart.core.db import enum_condition

revision = 'c7a2d5e8f301'
down_revision = '5c1e8d93a7b2'
branch_labels = None
depends_on = None

ROLES_BEFORE = ('code_administrator', 'panel_member', 'committee_member', 'party_user', 'dcc', 'authority')
ROLES = (*ROLES_BEFORE, 'senior_responsible_officer', 'authorised_responsible_officer')
ADT_BREACH = ('user', 'dcc')
QUARANTINE_STATUS = ('held', 'released', 'processed', 'deleted')
DCC_ALERT_KIND = ('QuarantinedRequest',)


def _person_roles(values: tuple[str, ...]) -> None:
    with op.batch_alter_table('person_roles') as batch:
        batch.drop_constraint(op.f('ck_person_roles_role'), type_='check')
        batch.create_check_constraint(op.f('ck_person_roles_role'), enum_condition('role', values))


def upgrade() -> None:
    op.create_table('adt_dcc_thresholds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('srv', sa.String(length=12), nullable=False),
    sa.Column('period_seconds', sa.Integer(), nullable=False),
    sa.Column('quarantine', sa.Integer(), nullable=False),
    sa.Column('set_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adt_dcc_thresholds')),
    sa.UniqueConstraint('srv', name=op.f('uq_adt_dcc_thresholds_srv'))
    )
    op.create_table('adt_thresholds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=23), nullable=False),
    sa.Column('srv', sa.String(length=12), nullable=False),
    sa.Column('period_seconds', sa.Integer(), nullable=False),
    sa.Column('warning', sa.Integer(), nullable=True),
    sa.Column('quarantine', sa.Integer(), nullable=True),
    sa.Column('set_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adt_thresholds')),
    sa.UniqueConstraint('user_id', 'srv', name=op.f('uq_adt_thresholds_user_id_srv'))
    )
    op.create_table('adt_warnings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.String(length=23), nullable=False),
    sa.Column('srv', sa.String(length=12), nullable=False),
    sa.Column('period_start', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_seconds', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=80), nullable=False),
    sa.Column('raised_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adt_warnings')),
    sa.UniqueConstraint('user_id', 'srv', 'period_start', name=op.f('uq_adt_warnings_user_id_srv_period_start'))
    )
    op.create_table('dcc_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.String(length=23), nullable=False),
    sa.Column('request_id', sa.String(length=80), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('raised_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint(enum_condition('kind', DCC_ALERT_KIND), name=op.f('ck_dcc_alerts_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dcc_alerts'))
    )
    with op.batch_alter_table('dcc_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_dcc_alerts_user_raised', ['user_id', 'raised_at'], unique=False)

    op.create_table('gateway_quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.String(length=80), nullable=False),
    sa.Column('originator', sa.String(length=23), nullable=False),
    sa.Column('counter', sa.BigInteger(), nullable=False),
    sa.Column('srv', sa.String(length=12), nullable=False),
    sa.Column('service', sa.String(length=8), nullable=False),
    sa.Column('log_seq', sa.BigInteger(), nullable=False),
    sa.Column('breach', sa.String(length=8), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actioned_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('actioned_by', sa.String(length=200), nullable=True),
    sa.Column('action_file_sha256', sa.String(length=64), nullable=True),
    sa.Column('processed_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint(enum_condition('breach', ADT_BREACH), name=op.f('ck_gateway_quarantine_breach')),
    sa.CheckConstraint(enum_condition('status', QUARANTINE_STATUS),
                       name=op.f('ck_gateway_quarantine_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_quarantine')),
    sa.UniqueConstraint('originator', 'counter', name=op.f('uq_gateway_quarantine_originator_counter'))
    )
    with op.batch_alter_table('gateway_quarantine', schema=None) as batch_op:
        batch_op.create_index('ix_gateway_quarantine_status', ['status'], unique=False)

    op.create_table('responsible_officer_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('added_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                            name=op.f('fk_responsible_officer_certificates_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responsible_officer_certificates')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_responsible_officer_certificates_fingerprint'))
    )
    _person_roles(ROLES)


def downgrade() -> None:
    op.execute(sa.text('DELETE FROM person_roles WHERE role IN (:s, :a)').bindparams(
        s='senior_responsible_officer', a='authorised_responsible_officer'))
    _person_roles(ROLES_BEFORE)
    op.drop_table('responsible_officer_certificates')
    with op.batch_alter_table('gateway_quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_gateway_quarantine_status')

    op.drop_table('gateway_quarantine')
    with op.batch_alter_table('dcc_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_dcc_alerts_user_raised')

    op.drop_table('dcc_alerts')
    op.drop_table('adt_warnings')
    op.drop_table('adt_thresholds')
    op.drop_table('adt_dcc_thresholds')
