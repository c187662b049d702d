"""audit: meter grants from a partial index of the metered records only

``ix_audit_record_grant_metered`` on ``(grant_id, at, rows)`` holds only the records a grant's use
is metered from (allowed, not the access domain's own), so the monthly settlement no longer tests
each record's result and action: it replaces ``ix_audit_record_grant_usage`` (0025), which nothing
else read.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 02:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METERED = "result = 'allowed' AND action NOT LIKE 'access.%'"  # as pubdata.audit.models.METERED then


def upgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_record_grant_metered", ["grant_id", "at", "rows"], unique=False,
            sqlite_where=sa.text(METERED), postgresql_where=sa.text(METERED),
        )  # fmt: skip
        batch_op.drop_index("ix_audit_record_grant_usage")


def downgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_record_grant_usage", ["grant_id", "at", "result", "action", "rows"], unique=False
        )
        batch_op.drop_index("ix_audit_record_grant_metered")
