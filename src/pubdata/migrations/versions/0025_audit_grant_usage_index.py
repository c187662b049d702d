"""audit: one index for metering a grant's use in a period

``ix_audit_record_grant_usage`` on ``(grant_id, at, result, action, rows)`` replaces the plain
``grant_id`` index (same prefix, so lookups by grant keep their index): the monthly settlement seeks
it once per entitlement's grant into the month and reads the index alone.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 22:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_record_grant_usage", ["grant_id", "at", "result", "action", "rows"], unique=False
        )
        batch_op.drop_index(batch_op.f("ix_audit_record_grant_id"))


def downgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_record_grant_id"), ["grant_id"], unique=False)
        batch_op.drop_index("ix_audit_record_grant_usage")
