"""finance: scorecard model versions and score runs

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_model_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("charts", sa.JSON(), nullable=True),
        sa.Column("training", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["identity_user.id"], name=op.f("fk_finance_model_version_created_by_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_model_version")),
        sa.UniqueConstraint("model_id", "digest", name=op.f("uq_finance_model_version_model_id")),
    )
    with op.batch_alter_table("finance_model_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_model_version_model_id"), ["model_id"], unique=False)

    op.create_table(
        "finance_score_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("facts_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("enterprises", sa.BigInteger(), nullable=False),
        sa.Column("grades", sa.JSON(), nullable=False),
        sa.Column("mean_score", sa.Double(), nullable=True),
        sa.Column("psi", sa.Double(), nullable=True),
        sa.Column("charts", sa.JSON(), nullable=True),
        sa.Column("results_path", sa.String(length=500), nullable=True),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["finance_model_version.id"],
            name=op.f("fk_finance_score_run_model_version_id_finance_model_version"),
        ),
        sa.ForeignKeyConstraint(
            ["started_by"], ["identity_user.id"], name=op.f("fk_finance_score_run_started_by_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_score_run")),
    )
    with op.batch_alter_table("finance_score_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_score_run_model_version_id"), ["model_version_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("finance_score_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finance_score_run_model_version_id"))
    op.drop_table("finance_score_run")
    with op.batch_alter_table("finance_model_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finance_model_version_model_id"))
    op.drop_table("finance_model_version")
