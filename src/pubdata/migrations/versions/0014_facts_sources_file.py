"""the fact-sources file a facts version was built from

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enterprise_facts_version") as batch:
        batch.add_column(sa.Column("sources_file_version", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("sources_file_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprise_facts_version") as batch:
        batch.drop_column("sources_file_digest")
        batch.drop_column("sources_file_version")
