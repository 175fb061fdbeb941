"""second factor and party administrators

Issue 15: the TOTP second factor of a person (people.totp_secret, totp_enabled_at, totp_last_step) and of a portal
session (web_sessions.second_factor_at); the role Party administrator, so the person_roles CHECK is rewritten over
the roles as they are now (docs/decisions/0033-second-factor-and-party-administrators.md).

Revision ID: b7d1e3f5a9c2
Revises: 0ff37c1943f2
Create Date: 2026-12-09 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db
from gbsmart.core.db import enum_condition

revision = 'b7d1e3f5a9c2'
down_revision = '0ff37c1943f2'
branch_labels = None
depends_on = None

ROLES_BEFORE = ('code_administrator', 'panel_member', 'committee_member', 'party_user', 'dcc', 'authority',
                'senior_responsible_officer', 'authorised_responsible_officer')
ROLES = (*ROLES_BEFORE, 'party_administrator')


def _person_roles(values: tuple[str, ...]) -> None:
    with op.batch_alter_table('person_roles') as batch:
        batch.drop_constraint(op.f('ck_person_roles_role'), type_='check')
        batch.create_check_constraint(op.f('ck_person_roles_role'), enum_condition('role', values))


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_factor_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True))
    _person_roles(ROLES)


def downgrade() -> None:
    op.execute(sa.text('DELETE FROM person_roles WHERE role = :r').bindparams(r='party_administrator'))
    _person_roles(ROLES_BEFORE)
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('second_factor_at')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
