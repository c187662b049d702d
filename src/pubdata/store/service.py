"""The store's tables: creating a resource with its Table Schema, reading it back.

A table belongs to a catalogue resource. Creating one adds the resource to its entry through the
catalogue service (so the same owner-or-operator rule and revision apply) and stores the schema,
validated by ``table_schema.parse_schema`` or derived from the entry's declared fields.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission, require
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import ResourceIn
from pubdata.store import table_schema
from pubdata.store.errors import TableNotFound
from pubdata.store.models import StoreTable
from pubdata.store.schemas import TableCreate, TableRead


def create_table(session: Session, actor: Actor, entry_key: str, data: TableCreate) -> TableRead:
    """Add a resource (table) to an entry the actor may edit, with its schema."""
    entry = catalog.get_entry(session, actor, entry_key)
    if data.table_schema is not None:
        schema = table_schema.parse_schema(data.table_schema)
    else:
        schema = table_schema.schema_from_catalog_fields(list(entry.fields))
    resource = catalog.add_resource(
        session, actor, entry.code, ResourceIn(name=data.name, description=data.description, format="CSV")
    )
    table = StoreTable(
        resource_id=resource.id,
        table_schema=table_schema.to_json(schema),
        reject_threshold=data.reject_threshold,
    )
    session.add(table)
    session.flush()
    return _read(table, entry.code, resource.name)


def get_table(session: Session, actor: Actor, resource_id: str) -> TableRead:
    """A table by its resource id; not found when the actor may not see the resource."""
    require(actor, Permission.CATALOG_ENTRY_READ)
    resource = catalog.get_resource(session, actor, resource_id)
    table = session.get(StoreTable, resource.id)
    if table is None:
        raise TableNotFound(f"资源尚未建立数据表：{resource_id}")
    return _read(table, resource.entry.code, resource.name)


def _read(table: StoreTable, entry_code: str, name: str) -> TableRead:
    return TableRead(
        resource_id=table.resource_id,
        entry_code=entry_code,
        name=name,
        table_schema=table.table_schema,
        current_version=table.current_version,
        reject_threshold=table.reject_threshold,
        created_at=table.created_at,
    )


def schema_of(session: Session, actor: Actor, resource_id: str) -> dict[str, Any]:
    return get_table(session, actor, resource_id).table_schema
