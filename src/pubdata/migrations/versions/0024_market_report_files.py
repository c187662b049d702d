"""market: report products' files

``market_report_file``: the PDF files a report product delivers (uploaded in draft, reviewed with
the listing, downloaded by entitled buyers).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_report_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_path", sa.String(length=300), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["market_product.id"], name=op.f("fk_market_report_file_product_id_market_product")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["identity_user.id"], name=op.f("fk_market_report_file_uploaded_by_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_report_file")),
        sa.UniqueConstraint("product_id", "sha256", name=op.f("uq_market_report_file_product_id")),
    )
    with op.batch_alter_table("market_report_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_report_file_product_id"), ["product_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("market_report_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_report_file_product_id"))
    op.drop_table("market_report_file")
