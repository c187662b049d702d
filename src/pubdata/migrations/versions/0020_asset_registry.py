"""assets: the data-asset registry (确权登记)

``asset_registration``: registrations of data resources and products (initial, change, correction,
transfer, licence, cancellation) with their fingerprinted version, state and code;
``registration_event``: every transition; ``registration_objection``: objections filed during the
public notice and their resolution.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    t = "asset_registration"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("root_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("holder_org_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_uscc", sa.String(length=18), nullable=False),
        sa.Column("counterparty_org_id", sa.Integer(), nullable=True),
        sa.Column("counterparty_name", sa.String(length=200), nullable=True),
        sa.Column("counterparty_uscc", sa.String(length=18), nullable=True),
        sa.Column("licence_until", sa.Date(), nullable=True),
        sa.Column("rights", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("field_names", sa.JSON(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("update_frequency", sa.String(length=100), nullable=False),
        sa.Column("coverage", sa.String(length=500), nullable=False),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("classification", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("notice_from", sa.Date(), nullable=True),
        sa.Column("notice_until", sa.Date(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applicant_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk(t, "previous_id", t),
        _fk(t, "root_id", t),
        _fk(t, "product_id", "market_product"),
        _fk(t, "holder_org_id", "identity_organisation"),
        _fk(t, "counterparty_org_id", "identity_organisation"),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_asset_registration_resource_id_catalog_resource")
        ),
        _fk(t, "entry_id", "catalog_entry"),
        _fk(t, "applicant_user_id", "identity_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_registration")),
        sa.UniqueConstraint("code", name=op.f("uq_asset_registration_code")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        for column in ("kind", "state", "previous_id", "root_id", "product_id", "holder_org_id", "resource_id",
                       "entry_id", "fingerprint"):  # fmt: skip
            batch_op.create_index(batch_op.f(f"ix_asset_registration_{column}"), [column], unique=False)

    t = "registration_event"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _fk(t, "registration_id", "asset_registration"),
        _fk(t, "actor_user_id", "identity_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_event")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registration_event_registration_id"), ["registration_id"], unique=False)

    t = "registration_objection"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.Integer(), nullable=True),
        sa.Column("filed_by_org_id", sa.Integer(), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        _fk(t, "registration_id", "asset_registration"),
        _fk(t, "filed_by", "identity_user"),
        _fk(t, "filed_by_org_id", "identity_organisation"),
        _fk(t, "resolved_by", "identity_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_objection")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registration_objection_registration_id"), ["registration_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("registration_objection")
    op.drop_table("registration_event")
    op.drop_table("asset_registration")
