"""an entry's rows live in the resource it declares

Demo homes made before this revision gave every entry a second resource, ``数据明细`` (described
``示范城市合成数据``), that held the rows, beside the entry's declared resource, which stayed empty;
CKAN clients saw two resources, one always empty. The store now gives the declared resource its
table. This data migration merges each such pair: the resource holding the rows takes the declared
one's name, description, format, position and creation time, and the empty declared resource is
deleted. The rows' resource keeps its id, so its versions, files, jobs, access requests and grants
stay as they are; only the empty resource's id disappears.

A pair is merged only when it is exactly what older demo fills made: an entry with two resources,
one named ``数据明细`` with that description and a table, the other with no table and no access
requests or grants. No schema change; the downgrade leaves the merged resources as they are.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 09:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_NAME = "数据明细"
LEGACY_DESCRIPTION = "示范城市合成数据"

LEGACY_PAIRS = sa.text(
    """
    SELECT rows_.id AS rows_id, declared.id AS declared_id, declared.name AS name,
           declared.description AS description, declared.format AS format,
           declared.position AS position, declared.created_at AS created_at
    FROM catalog_resource rows_
    JOIN catalog_resource declared ON declared.entry_id = rows_.entry_id AND declared.id <> rows_.id
    WHERE rows_.name = :name AND rows_.description = :description
      AND rows_.id IN (SELECT resource_id FROM store_table)
      AND declared.id NOT IN (SELECT resource_id FROM store_table)
      AND declared.id NOT IN (SELECT resource_id FROM access_request)
      AND declared.id NOT IN (SELECT resource_id FROM access_grant)
      AND (SELECT count(*) FROM catalog_resource c WHERE c.entry_id = rows_.entry_id) = 2
    """
)


def upgrade() -> None:
    conn = op.get_bind()
    pairs = conn.execute(LEGACY_PAIRS, {"name": LEGACY_NAME, "description": LEGACY_DESCRIPTION}).mappings().all()
    if not pairs:
        return
    # the declared resource goes first: (entry_id, name) is unique
    conn.execute(
        sa.text("DELETE FROM catalog_resource WHERE id = :declared_id"),
        [{"declared_id": p["declared_id"]} for p in pairs],
    )
    conn.execute(
        sa.text(
            "UPDATE catalog_resource SET name = :name, description = :description, format = :format, "
            "position = :position, created_at = :created_at WHERE id = :rows_id"
        ),
        [{k: v for k, v in p.items() if k != "declared_id"} for p in pairs],
    )


def downgrade() -> None:
    pass  # nothing to undo: the merged resource keeps every version; the empty one held nothing
