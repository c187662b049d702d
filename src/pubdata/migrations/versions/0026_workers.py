"""workers: job retries with backoff and a dead-letter state; leases for periodic work

``store_job.attempts`` (runs interrupted so far) and ``store_job.not_before`` (a retried job waits
until then); ``worker_lease`` (which process of a deployment does each piece of periodic work).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_lease")),
    )
    with op.batch_alter_table("store_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("store_job", schema=None) as batch_op:
        batch_op.drop_column("not_before")
        batch_op.drop_column("attempts")
    op.drop_table("worker_lease")
