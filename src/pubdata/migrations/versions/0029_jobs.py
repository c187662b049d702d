"""jobs: the store's job table becomes the platform's job table, for every kind of long job

``store_job`` is copied into ``job`` (every row, with its id) and dropped. New: ``key`` (what a job
does, e.g. ``settle:2026-11``), ``active_key`` (unique; equal to ``key`` while the job is queued or
running, so each key has at most one waiting or running job) and ``params`` (JSON). ``kind`` widens
to 32 characters and ``resource_id`` (an ingest job's table) becomes nullable.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 02:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COPIED = (
    "id, kind, resource_id, state, stage, percent, rows_so_far, bytes_received, source_name, source_path, "
    "result, error, created_by, created_via, worker, attempts, not_before, created_at, started_at, "
    "heartbeat_at, finished_at"
)


def _job_table(name: str, *, generic: bool) -> None:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32 if generic else 16), nullable=False),
    ]
    if generic:
        columns += [
            sa.Column("key", sa.String(length=120), nullable=True),
            sa.Column("active_key", sa.String(length=120), nullable=True),
            sa.Column("params", sa.JSON(), nullable=True),
        ]
    columns += [
        sa.Column("resource_id", sa.String(length=36), nullable=generic),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("rows_so_far", sa.BigInteger(), nullable=True),
        sa.Column("bytes_received", sa.BigInteger(), nullable=False),
        sa.Column("source_name", sa.String(length=300), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_via", sa.String(length=16), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    ]
    constraints: list[sa.schema.SchemaItem] = [
        sa.ForeignKeyConstraint(["created_by"], ["identity_user.id"], name=op.f(f"fk_{name}_created_by_identity_user")),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["store_table.resource_id"],
            name=op.f(f"fk_{name}_resource_id_store_table"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    ]
    if generic:
        constraints.append(sa.UniqueConstraint("active_key", name=op.f(f"uq_{name}_active_key")))
    op.create_table(name, *columns, *constraints)
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{name}_state"), ["state"], unique=False)
        if generic:
            batch_op.create_index(batch_op.f(f"ix_{name}_kind"), ["kind"], unique=False)


def upgrade() -> None:
    _job_table("job", generic=True)
    op.execute(f"INSERT INTO job ({COPIED}) SELECT {COPIED} FROM store_job")
    with op.batch_alter_table("store_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_job_state"))
        batch_op.drop_index(batch_op.f("ix_store_job_resource_id"))
    op.drop_table("store_job")


def downgrade() -> None:
    _job_table("store_job", generic=False)
    op.execute(f"INSERT INTO store_job ({COPIED}) SELECT {COPIED} FROM job WHERE kind = 'ingest'")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_kind"))
        batch_op.drop_index(batch_op.f("ix_job_state"))
        batch_op.drop_index(batch_op.f("ix_job_resource_id"))
    op.drop_table("job")
