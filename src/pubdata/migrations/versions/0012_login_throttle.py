"""login throttle, and the lineage of API tokens and OAuth clients

Failed sign-ins counted per account and per address (``identity_login_throttle``); a token minted by
another token keeps its parent (``identity_api_token.parent_id``) and a client registered by a token
keeps that token (``identity_oauth_client.created_by_token_id``), so that revoking a credential
revokes what it created.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_login_throttle",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_identity_login_throttle")),
    )
    with op.batch_alter_table("identity_login_throttle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_login_throttle_last_failure_at"), ["last_failure_at"], unique=False
        )

    with op.batch_alter_table("identity_api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_identity_api_token_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_identity_api_token_parent_id_identity_api_token"),
            "identity_api_token",
            ["parent_id"],
            ["id"],
        )

    with op.batch_alter_table("identity_oauth_client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_token_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_identity_oauth_client_created_by_token_id"), ["created_by_token_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_identity_oauth_client_created_by_token_id_identity_api_token"),
            "identity_api_token",
            ["created_by_token_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_oauth_client", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_identity_oauth_client_created_by_token_id_identity_api_token"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_identity_oauth_client_created_by_token_id"))
        batch_op.drop_column("created_by_token_id")

    with op.batch_alter_table("identity_api_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_identity_api_token_parent_id_identity_api_token"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_identity_api_token_parent_id"))
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("identity_login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_login_throttle_last_failure_at"))

    op.drop_table("identity_login_throttle")
