"""Create the user and user_session tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The address as the user wrote it; SQL of your own compares it without regard to case.
EMAIL = (
    sa.String(320)
    .with_variant(sa.String(320, collation="NOCASE"), "sqlite")
    .with_variant(sa.String(320, collation="case_insensitive"), "postgresql")
    .with_variant(sa.String(320, collation="utf8mb4_unicode_ci"), "mysql", "mariadb")
)
# Its canonical form (users/addresses.py), compared byte for byte: the unique index on it is
# what keeps two accounts from sharing an address, even when they register at the same moment.
NORMALIZED_EMAIL = (
    sa.String(768)
    .with_variant(sa.String(768, collation="C"), "postgresql")
    .with_variant(sa.String(768, collation="utf8mb4_bin"), "mysql", "mariadb")
)
# Points in time, stored as naive UTC; MySQL keeps microseconds only in DATETIME(6).
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def utc_now(dialect: str) -> sa.TextClause:
    """The database's current time in UTC, in the form the app stores times (naive UTC with
    microseconds; on SQLite the text SQLAlchemy writes), for rows inserted without one."""
    if dialect == "postgresql":
        return sa.text("timezone('utc', now())")
    if dialect == "sqlite":
        return sa.text("(strftime('%Y-%m-%d %H:%M:%f000', 'now'))")
    return sa.text("(utc_timestamp(6))")


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        # Case-insensitive, accent-sensitive comparison (ICU "level 2").
        op.execute(
            "CREATE COLLATION IF NOT EXISTS case_insensitive "
            "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
        )
    op.create_table(
        "user",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", EMAIL, nullable=False),
        sa.Column("normalized_email", NORMALIZED_EMAIL, nullable=False),
        sa.Column("hashed_password", sa.String(1024), nullable=False),
        sa.Column("password_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=utc_now(dialect)),
        sa.PrimaryKeyConstraint("id", name="pk_user"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index("ix_user_normalized_email", "user", ["normalized_email"], unique=True)
    op.create_index("ix_user_created_at", "user", ["created_at", "id"])
    op.create_table(
        "user_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("password_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_used_at", TIMESTAMP, nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("previous_refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("refreshed_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_user_session_user_id_user", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_user_session"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
    op.drop_index("ix_user_created_at", table_name="user")
    op.drop_index("ix_user_normalized_email", table_name="user")
    op.drop_table("user")
