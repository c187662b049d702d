"""The store's tables: giving a catalogue resource its Table Schema, reading it back.

A table belongs to a catalogue resource, one table per resource. An entry's rows live in the
resource it declares: ``create_table`` gives that resource its table when one of that name is
declared, and adds a new resource to the entry only when none is (through the catalogue service, so
the same owner-or-operator rule and revision apply). The schema is validated by
``table_schema.parse_schema`` or derived from the entry's declared fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission, require
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import ResourceIn
from pubdata.db import utcnow
from pubdata.store import engine, table_schema
from pubdata.store.errors import TableExists, TableNotFound, VersionNotFound, VersionNotPublished
from pubdata.store.models import StoreTable, StoreVersion
from pubdata.store.quality import checks as quality
from pubdata.store.read import may_read_rows
from pubdata.store.schemas import ResourceTableCreate, TableCreate, TableRead, VersionRead

if TYPE_CHECKING:
    from pubdata.catalog.models import CatalogEntry, CatalogResource


def create_table(session: Session, actor: Actor, entry_key: str, data: TableCreate) -> TableRead:
    """Give an entry the actor may edit a table with its schema: the entry's own resource named
    ``data.name`` when it declares one (its name and description stay as the catalogue has them),
    else a new resource of that name. ``TableExists`` (409) when that resource already has a table;
    nothing is written when the schema or the permission is refused."""
    entry = catalog.editable_entry(session, actor, entry_key)
    declared = next((r for r in entry.resources if r.name == data.name), None)
    if declared is not None:
        _check_no_table(session, declared)
    schema = _schema(entry, data)
    resource = declared or catalog.add_resource(
        session, actor, entry.code, ResourceIn(name=data.name, description=data.description, format="CSV")
    )
    return _give_table(session, entry, resource, schema, data)


def create_resource_table(session: Session, actor: Actor, resource_id: str, data: ResourceTableCreate) -> TableRead:
    """Give an existing resource its table, with its schema (derived from the entry's declared
    fields when omitted): the way to load rows into the resource an entry was registered with.
    The entry's department or the operator only; ``TableExists`` (409) when it has one already."""
    resource = catalog.get_resource(session, actor, resource_id)
    entry = catalog.editable_entry(session, actor, resource.entry.code)
    _check_no_table(session, resource)
    return _give_table(session, entry, resource, _schema(entry, data), data)


def proposed_schema(session: Session, actor: Actor, resource_id: str) -> dict[str, Any]:
    """The Table Schema a resource's publisher is offered for its new table (Table Schema JSON):
    one field per field the entry declares in the catalogue, in order, with its type, its label as
    title, its personal-information kind as ``personalKind`` and a recognisable data standard as
    ``semanticType``. For those who may give the resource its table only (the entry's department or
    the operator, as ``create_resource_table``); ``TableExists`` (409) when it has one. Not checked:
    fields that make no valid schema (none declared, names equal but for case) are offered as they
    are, for the publisher to correct; ``create_resource_table`` names what is wrong."""
    entry = check_may_create_table(session, actor, resource_id)
    return {"fields": table_schema.catalog_schema_fields(list(entry.fields))}


def check_may_create_table(session: Session, actor: Actor, resource_id: str) -> CatalogEntry:
    """The resource's entry, if the actor may give the resource its table now (the checks of
    ``create_resource_table`` before it reads the schema): not found when they may not see it,
    refused unless they are its department or the operator, ``TableExists`` when it has one."""
    resource = catalog.get_resource(session, actor, resource_id)
    entry = catalog.editable_entry(session, actor, resource.entry.code)
    _check_no_table(session, resource)
    return entry


def _table_exists(resource: CatalogResource) -> TableExists:
    return TableExists(
        f"资源“{resource.name}”已建立数据表（{resource.id}），不能重复建立", details={"resource_id": resource.id}
    )


def _check_no_table(session: Session, resource: CatalogResource) -> None:
    if session.get(StoreTable, resource.id) is not None:
        raise _table_exists(resource)


def _schema(entry: CatalogEntry, data: ResourceTableCreate) -> table_schema.TableSchema:
    if data.table_schema is not None:
        return table_schema.parse_schema(data.table_schema)
    return table_schema.schema_from_catalog_fields(list(entry.fields))


def _give_table(
    session: Session,
    entry: CatalogEntry,
    resource: CatalogResource,
    schema: table_schema.TableSchema,
    data: ResourceTableCreate,
) -> TableRead:
    table = StoreTable(
        resource_id=resource.id,
        table_schema=table_schema.to_json(schema),
        reject_threshold=data.reject_threshold,
    )
    session.add(table)
    try:
        session.flush()
    except IntegrityError:  # given its table by a concurrent request since the check
        raise _table_exists(resource) from None
    return _read(table, entry.code, resource.name)


def get_table(session: Session, actor: Actor, resource_id: str) -> TableRead:
    """A table by its resource id; not found when the actor may not see the resource."""
    table = _table(session, actor, resource_id)
    resource = catalog.get_resource(session, actor, resource_id)
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


def _table(session: Session, actor: Actor, resource_id: str) -> StoreTable:
    require(actor, Permission.CATALOG_ENTRY_READ)
    resource = catalog.get_resource(session, actor, resource_id)
    table = session.get(StoreTable, resource.id)
    if table is None:
        raise TableNotFound(f"资源尚未建立数据表：{resource_id}")
    return table


def list_versions(session: Session, actor: Actor, resource_id: str) -> list[VersionRead]:
    """Every load of the table, newest first, with its quality report; ``current`` marks the one
    readers see. The reports hold values of cells (the newest date) only for those who may read the
    whole table; everyone else gets them without (``quality.without_values``)."""
    table = _table(session, actor, resource_id)
    whole = may_read_rows(actor, catalog.get_resource(session, actor, resource_id).entry)
    versions = session.scalars(
        select(StoreVersion).where(StoreVersion.resource_id == table.resource_id).order_by(StoreVersion.number.desc())
    )
    return [_version_read(v, table, with_values=whole) for v in versions]


def _version_read(version: StoreVersion, table: StoreTable, *, with_values: bool = True) -> VersionRead:
    read = VersionRead.model_validate(version)
    read.current = version.number == table.current_version
    if not with_values:
        read.quality = quality.without_values(read.quality)
    return read


def roll_back(session: Session, actor: Actor, resource_id: str, number: int) -> VersionRead:
    """Make an earlier published version the current one again (the entry's department or the
    operator). Versions are immutable: nothing is deleted, later versions can be restored the same way."""
    table = _table(session, actor, resource_id)
    resource = catalog.get_resource(session, actor, resource_id)
    catalog.editable_entry(session, actor, resource.entry.code)
    version = session.scalar(
        select(StoreVersion).where(StoreVersion.resource_id == table.resource_id, StoreVersion.number == number)
    )
    if version is None:
        raise VersionNotFound(f"版本不存在：{number}")
    if version.state != "published":
        raise VersionNotPublished(f"版本 {number} 未发布（{version.state}），不能作为当前版本", field="version")
    table.current_version = number
    table.updated_at = utcnow()
    session.flush()
    return _version_read(version, table)


def analytic_query(sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a read-only statement, written by a higher domain over files it owns (the enterprise
    facts, policy match results), on this process's one DuckDB reader within the query timeout:
    the column names and the rows. Never for a caller's SQL nor for store tables (those go through
    the read plan, ``store.read``)."""
    cur = engine.cursor()
    try:
        result = engine.run(cur, sql, params)
        return [d[0] for d in result.description or []], result.fetchall()
    finally:
        cur.close()
