"""market: data products, their listing events and price plans

``market_product``: products the operator and data merchants build on catalogue resources, with
their contract template and listing state; ``market_listing_event``: every listing transition;
``market_price_plan``: the products' price plans in integer fen.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=True),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("basis_grant_id", sa.Integer(), nullable=True),
        sa.Column("sample", sa.Text(), nullable=False),
        sa.Column("update_frequency", sa.String(length=100), nullable=False),
        sa.Column("coverage", sa.String(length=500), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("contract", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("notice_until", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_org_id"], ["identity_organisation.id"],
            name=op.f("fk_market_product_provider_org_id_identity_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["catalog_entry.id"], name=op.f("fk_market_product_entry_id_catalog_entry")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_market_product_resource_id_catalog_resource")
        ),
        sa.ForeignKeyConstraint(
            ["basis_grant_id"], ["access_grant.id"], name=op.f("fk_market_product_basis_grant_id_access_grant")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["identity_user.id"], name=op.f("fk_market_product_created_by_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_product")),
        sa.UniqueConstraint("code", name=op.f("uq_market_product_code")),
    )  # fmt: skip
    with op.batch_alter_table("market_product", schema=None) as batch_op:
        for column in ("kind", "scenario", "zone", "provider_org_id", "entry_id", "resource_id", "state"):
            batch_op.create_index(batch_op.f(f"ix_market_product_{column}"), [column], unique=False)

    op.create_table(
        "market_listing_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["market_product.id"], name=op.f("fk_market_listing_event_product_id_market_product")
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["identity_user.id"], name=op.f("fk_market_listing_event_actor_user_id_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_listing_event")),
    )  # fmt: skip
    with op.batch_alter_table("market_listing_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_listing_event_product_id"), ["product_id"], unique=False)

    op.create_table(
        "market_price_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=True),
        sa.Column("free_quota", sa.BigInteger(), nullable=True),
        sa.Column("monthly_cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("tiers", sa.JSON(), nullable=True),
        sa.Column("public_interest_only", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["market_product.id"], name=op.f("fk_market_price_plan_product_id_market_product")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["identity_user.id"], name=op.f("fk_market_price_plan_created_by_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_price_plan")),
        sa.UniqueConstraint("product_id", "code", name=op.f("uq_market_price_plan_product_id")),
    )  # fmt: skip
    with op.batch_alter_table("market_price_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_price_plan_product_id"), ["product_id"], unique=False)


def downgrade() -> None:
    op.drop_table("market_price_plan")
    op.drop_table("market_listing_event")
    op.drop_table("market_product")
