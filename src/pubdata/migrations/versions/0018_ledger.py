"""ledger: the data market's double-entry ledger

``ledger_account``: the market's and the organisations' accounts; ``ledger_entry``: journal entries,
each posted once under its reference (the idempotency key), a reversal naming the entry it
reverses; ``ledger_line``: the entries' lines in signed integer fen (debit positive, credit
negative). Entries and lines are append-only.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=96), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('asset', 'liability', 'revenue', 'expense', 'equity')", name=op.f("ck_ledger_account_kind")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["identity_organisation.id"],
            name=op.f("fk_ledger_account_organisation_id_identity_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_account")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_account_code")),
    )  # fmt: skip
    with op.batch_alter_table("ledger_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_account_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["identity_user.id"], name=op.f("fk_ledger_entry_posted_by_identity_user")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["ledger_entry.id"], name=op.f("fk_ledger_entry_reverses_id_ledger_entry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_entry_reference")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_entry_reverses_id")),
    )  # fmt: skip
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entry_kind"), ["kind"], unique=False)

    op.create_table(
        "ledger_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.CheckConstraint("amount_fen <> 0", name=op.f("ck_ledger_line_amount_fen_nonzero")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_account.id"], name=op.f("fk_ledger_line_account_id_ledger_account")
        ),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"], name=op.f("fk_ledger_line_entry_id_ledger_entry")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_line")),
    )  # fmt: skip
    with op.batch_alter_table("ledger_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_line_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_line_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ledger_line")
    op.drop_table("ledger_entry")
    op.drop_table("ledger_account")
