"""finance: consents (授权) of enterprises to banks, and the bank–enterprise channel (银企直通车)

``finance_consent``: which enterprise lets which bank read which sections of its credit report,
until when; ``finance_loan_product``, ``finance_loan_application``, ``finance_loan_event``: banks'
loan products, enterprises' applications and each application's pipeline.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_org_id", sa.Integer(), nullable=False),
        sa.Column("bank_org_id", sa.Integer(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("purpose_note", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_org_id"], ["identity_organisation.id"],
            name=op.f("fk_finance_consent_bank_org_id_identity_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_org_id"], ["identity_organisation.id"],
            name=op.f("fk_finance_consent_enterprise_org_id_identity_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["identity_user.id"], name=op.f("fk_finance_consent_granted_by_identity_user")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["identity_user.id"], name=op.f("fk_finance_consent_revoked_by_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_consent")),
    )  # fmt: skip
    with op.batch_alter_table("finance_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_consent_uscc"), ["uscc"], unique=False)
        batch_op.create_index(batch_op.f("ix_finance_consent_enterprise_org_id"), ["enterprise_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finance_consent_bank_org_id"), ["bank_org_id"], unique=False)

    op.create_table(
        "finance_loan_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_org_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("amount_min", sa.BigInteger(), nullable=False),
        sa.Column("amount_max", sa.BigInteger(), nullable=False),
        sa.Column("term_min_months", sa.Integer(), nullable=False),
        sa.Column("term_max_months", sa.Integer(), nullable=False),
        sa.Column("rate_min_bp", sa.Integer(), nullable=False),
        sa.Column("rate_max_bp", sa.Integer(), nullable=False),
        sa.Column("guarantee", sa.String(length=16), nullable=False),
        sa.Column("eligibility", sa.Text(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_org_id"], ["identity_organisation.id"],
            name=op.f("fk_finance_loan_product_bank_org_id_identity_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["identity_user.id"], name=op.f("fk_finance_loan_product_created_by_identity_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_loan_product")),
        sa.UniqueConstraint("bank_org_id", "code", name=op.f("uq_finance_loan_product_bank_org_id")),
    )  # fmt: skip
    with op.batch_alter_table("finance_loan_product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_loan_product_bank_org_id"), ["bank_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finance_loan_product_state"), ["state"], unique=False)

    op.create_table(
        "finance_loan_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("bank_org_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_org_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=False),
        sa.Column("district", sa.String(length=16), nullable=True),
        sa.Column("industry", sa.String(length=8), nullable=True),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("approved_amount", sa.BigInteger(), nullable=True),
        sa.Column("approved_rate_bp", sa.Integer(), nullable=True),
        sa.Column("approved_term_months", sa.Integer(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_org_id"], ["identity_organisation.id"],
            name=op.f("fk_finance_loan_application_bank_org_id_identity_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["finance_consent.id"], name=op.f("fk_finance_loan_application_consent_id_finance_consent")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["identity_user.id"], name=op.f("fk_finance_loan_application_created_by_identity_user")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_org_id"], ["identity_organisation.id"],
            name=op.f("fk_finance_loan_application_enterprise_org_id_identity_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["finance_loan_product.id"],
            name=op.f("fk_finance_loan_application_product_id_finance_loan_product"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_loan_application")),
    )  # fmt: skip
    with op.batch_alter_table("finance_loan_application", schema=None) as batch_op:
        for column in ("product_id", "bank_org_id", "enterprise_org_id", "uscc", "state"):
            batch_op.create_index(batch_op.f(f"ix_finance_loan_application_{column}"), [column], unique=False)

    op.create_table(
        "finance_loan_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["identity_user.id"], name=op.f("fk_finance_loan_event_actor_user_id_identity_user")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"], ["finance_loan_application.id"],
            name=op.f("fk_finance_loan_event_application_id_finance_loan_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_loan_event")),
    )  # fmt: skip
    with op.batch_alter_table("finance_loan_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_loan_event_application_id"), ["application_id"], unique=False)


def downgrade() -> None:
    op.drop_table("finance_loan_event")
    op.drop_table("finance_loan_application")
    op.drop_table("finance_loan_product")
    op.drop_table("finance_consent")
