"""enterprise: facts only the enterprise can supply, with who supplied them and when

``enterprise_supplied_fact``: per enterprise (credit code) and fact, each value its own users
supplied, the note they gave, who and when; a new value supersedes the old one, which stays as
history (at most one current row per enterprise and fact). ``enterprise_facts_version`` records the
newest supplied value a build carried (``supplied_through``), which is how a later supply makes the
facts stale.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enterprise_supplied_fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("supplied_by", sa.Integer(), nullable=True),
        sa.Column("supplied_by_name", sa.String(length=100), nullable=False),
        sa.Column("supplied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes", sa.Integer(), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["identity_organisation.id"],
            name=op.f("fk_enterprise_supplied_fact_organisation_id_identity_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["supplied_by"], ["identity_user.id"], name=op.f("fk_enterprise_supplied_fact_supplied_by_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_supplied_fact")),
        sa.UniqueConstraint("supersedes", name=op.f("uq_enterprise_supplied_fact_supersedes")),
    )  # fmt: skip
    with op.batch_alter_table("enterprise_supplied_fact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprise_supplied_fact_uscc"), ["uscc"], unique=False)
        batch_op.create_index(
            "uq_enterprise_supplied_fact_current",
            ["uscc", "name"],
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )
    with op.batch_alter_table("enterprise_facts_version") as batch:
        batch.add_column(sa.Column("supplied_through", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprise_facts_version") as batch:
        batch.drop_column("supplied_through")
    with op.batch_alter_table("enterprise_supplied_fact", schema=None) as batch_op:
        batch_op.drop_index("uq_enterprise_supplied_fact_current")
        batch_op.drop_index(batch_op.f("ix_enterprise_supplied_fact_uscc"))
    op.drop_table("enterprise_supplied_fact")
