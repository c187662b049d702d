"""sharing: Delta Sharing recipient profiles

``sharing_profile``: bearer credentials a user issues for a partner's Delta Sharing client (only the
secret's hash is kept), with expiry and revocation.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sharing_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identity_organisation.id"],
            name=op.f("fk_sharing_profile_organisation_id_identity_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["identity_user.id"], name=op.f("fk_sharing_profile_revoked_by_identity_user")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["identity_user.id"], name=op.f("fk_sharing_profile_user_id_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_profile")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sharing_profile_token_hash")),
    )
    with op.batch_alter_table("sharing_profile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_profile_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sharing_profile_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sharing_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_profile_user_id"))
        batch_op.drop_index(batch_op.f("ix_sharing_profile_organisation_id"))
    op.drop_table("sharing_profile")
