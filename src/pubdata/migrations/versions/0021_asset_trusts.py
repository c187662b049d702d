"""assets: data trusts (数据信托)

``asset_trust``: the trust (settlor, trustee, purpose, fee as a rate or a fixed amount, term, state,
its clearing account); ``asset_trust_beneficiary``: beneficiaries with exact shares (reduced
fractions) and the one remainder party; ``asset_trust_asset``: the entrusted registrations by code;
``asset_trust_distribution``: each distribution under its unique reference with the fee, the parts
and the ledger entry.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, target_column: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{target_column}"], name=op.f(f"fk_{table}_{column}_{target}"))


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    t = "asset_trust"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("settlor_org_id", sa.Integer(), nullable=False),
        sa.Column("trustee_org_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("fee_rate_bp", sa.Integer(), nullable=True),
        sa.Column("fee_fixed_fen", sa.BigInteger(), nullable=True),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ledger_account_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(fee_rate_bp IS NULL) <> (fee_fixed_fen IS NULL)", name=op.f("ck_asset_trust_one_fee_kind")
        ),
        sa.CheckConstraint("term_end >= term_start", name=op.f("ck_asset_trust_term")),
        _fk(t, "settlor_org_id", "identity_organisation"),
        _fk(t, "trustee_org_id", "identity_organisation"),
        _fk(t, "ledger_account_id", "ledger_account"),
        _fk(t, "created_by", "identity_user"),
        _fk(t, "approved_by", "identity_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_trust")),
        sa.UniqueConstraint("code", name=op.f("uq_asset_trust_code")),
    )
    _indexes(t, "settlor_org_id", "trustee_org_id", "state")

    t = "asset_trust_beneficiary"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("numerator", sa.BigInteger(), nullable=False),
        sa.Column("denominator", sa.BigInteger(), nullable=False),
        sa.Column("remainder", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("numerator > 0 AND denominator > 0", name=op.f("ck_asset_trust_beneficiary_share_positive")),
        _fk(t, "trust_id", "asset_trust"),
        _fk(t, "organisation_id", "identity_organisation"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_trust_beneficiary")),
        sa.UniqueConstraint("trust_id", "organisation_id", name=op.f("uq_asset_trust_beneficiary_trust_id")),
    )
    _indexes(t, "trust_id", "organisation_id")

    t = "asset_trust_asset"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Integer(), nullable=False),
        sa.Column("registration_code", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _fk(t, "trust_id", "asset_trust"),
        _fk(t, "registration_code", "asset_registration", "code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_trust_asset")),
        sa.UniqueConstraint("trust_id", "registration_code", name=op.f("uq_asset_trust_asset_trust_id")),
    )
    _indexes(t, "trust_id", "registration_code")

    t = "asset_trust_distribution"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        sa.Column("distributed_on", sa.Date(), nullable=False),
        sa.Column("distributed_by", sa.Integer(), nullable=True),
        sa.Column("distributed_at", sa.DateTime(timezone=True), nullable=False),
        _fk(t, "trust_id", "asset_trust"),
        _fk(t, "ledger_entry_id", "ledger_entry"),
        _fk(t, "distributed_by", "identity_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_trust_distribution")),
        sa.UniqueConstraint("reference", name=op.f("uq_asset_trust_distribution_reference")),
    )
    _indexes(t, "trust_id")


def downgrade() -> None:
    op.drop_table("asset_trust_distribution")
    op.drop_table("asset_trust_asset")
    op.drop_table("asset_trust_beneficiary")
    op.drop_table("asset_trust")
