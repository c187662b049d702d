"""assets: stored appraisal reports (数据资产评估报告)

``asset_appraisal``: one report of an appraisal agency over a registered asset (by registration
code): purpose, valuation date (基准日), state draft → signed (→ withdrawn), the inputs of the cost,
income and market methods with their evidence (JSON), the results, the reconciliation and the
concluded value in fen, the 财会〔2023〕11号 classification and its reasons, and the content hash of
the signed report; ``asset_appraisal_appraiser``: the appraisers (users) who sign it.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-09 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, target_column: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{target_column}"], name=op.f(f"fk_{table}_{column}_{target}"))


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    t = "asset_appraisal"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("registration_code", sa.String(length=32), nullable=False),
        sa.Column("agency_org_id", sa.Integer(), nullable=False),
        sa.Column("holder_org_id", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("purpose_note", sa.Text(), nullable=False),
        sa.Column("valuation_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cost_input", sa.JSON(), nullable=True),
        sa.Column("income_input", sa.JSON(), nullable=True),
        sa.Column("market_input", sa.JSON(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("reconciliation", sa.JSON(), nullable=True),
        sa.Column("concluded_value_fen", sa.BigInteger(), nullable=True),
        sa.Column("holding_purpose", sa.String(length=16), nullable=True),
        sa.Column("expected_benefits_probable", sa.Boolean(), nullable=True),
        sa.Column("cost_reliably_measurable", sa.Boolean(), nullable=True),
        sa.Column("controlled", sa.Boolean(), nullable=True),
        sa.Column("classification_category", sa.String(length=32), nullable=True),
        sa.Column("classification_standard", sa.String(length=64), nullable=True),
        sa.Column("classification_reason", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "concluded_value_fen IS NULL OR concluded_value_fen > 0", name=op.f("ck_asset_appraisal_value_positive")
        ),
        sa.CheckConstraint(
            "state = 'draft' OR (content_hash IS NOT NULL AND signed_at IS NOT NULL "
            "AND concluded_value_fen IS NOT NULL AND classification_category IS NOT NULL)",
            name=op.f("ck_asset_appraisal_signed_complete"),
        ),
        _fk(t, "registration_code", "asset_registration", "code"),
        _fk(t, "agency_org_id", "identity_organisation"),
        _fk(t, "holder_org_id", "identity_organisation"),
        _fk(t, "previous_id", "asset_appraisal"),
        _fk(t, "created_by", "identity_user"),
        _fk(t, "signed_by", "identity_user"),
        _fk(t, "withdrawn_by", "identity_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_appraisal")),
        sa.UniqueConstraint("code", name=op.f("uq_asset_appraisal_code")),
    )
    _indexes(t, "registration_code", "agency_org_id", "holder_org_id", "previous_id", "state")

    t = "asset_appraisal_appraiser"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _fk(t, "appraisal_id", "asset_appraisal"),
        _fk(t, "user_id", "identity_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_appraisal_appraiser")),
        sa.UniqueConstraint("appraisal_id", "user_id", name=op.f("uq_asset_appraisal_appraiser_appraisal_id")),
    )
    _indexes(t, "appraisal_id", "user_id")


def downgrade() -> None:
    op.drop_table("asset_appraisal_appraiser")
    op.drop_table("asset_appraisal")
