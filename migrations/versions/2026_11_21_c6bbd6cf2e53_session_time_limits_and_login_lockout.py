"""Session time limits and login lockout

Sessions get an idle timeout and an absolute lifetime, fixed when they open.
Sessions open at upgrade time had neither: they are ended, so everyone logs in
again once.  Failed logins are counted in the database to lock an account name
out for a while.

Revision ID: c6bbd6cf2e53
Revises: 379ec1ded1b2
Create Date: 2026-11-21 19:47:59.100671

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c6bbd6cf2e53'
down_revision = '379ec1ded1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failures_attempted_at'), ['attempted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_email_key_attempted_at'), ['email_key', 'attempted_at'], unique=False)

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('idle_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('remember', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('ended_reason', sa.Enum('LOGOUT', 'IDLE', 'EXPIRED', 'PASSWORD', 'REVOKED', 'DEACTIVATED', name='sessionend', native_enum=False, length=40), nullable=True))

    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC there
    sessions = sa.table(
        "user_sessions",
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("last_seen_at", sa.DateTime(timezone=True)),
        sa.column("idle_minutes", sa.Integer),
        sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("ended_at", sa.DateTime(timezone=True)),
        sa.column("ended_reason", sa.String),
    )
    bind.execute(
        sessions.update()
        .where(sessions.c.ended_at.is_(None))
        .values(ended_at=now, ended_reason="EXPIRED")
    )
    bind.execute(
        sessions.update().values(
            last_seen_at=sessions.c.created_at,
            idle_minutes=30,
            expires_at=sessions.c.created_at,
        )
    )

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('idle_minutes', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('remember', existing_type=sa.Boolean(), server_default=None)


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('ended_reason')
        batch_op.drop_column('remember')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('idle_minutes')
        batch_op.drop_column('last_seen_at')

    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_email_key_attempted_at'))
        batch_op.drop_index(batch_op.f('ix_login_failures_attempted_at'))

    op.drop_table('login_failures')
