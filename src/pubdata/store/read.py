"""The one read path of the store.

Every way rows leave the platform — the rows API, SQL, downloads, CKAN ``datastore_search`` and
``datastore_search_sql``, portal previews — first asks ``plan_read`` for a ``ReadPlan`` and then reads
only the plan's ``relation``: a DuckDB subquery over the version's Parquet file exposing exactly the
columns the caller may see. Nothing else in the code opens a version's data file for reading.

Who may read rows (until access contracts arrive): anyone for 无条件开放 entries; for 有条件开放 and
不予开放 entries only the publishing department and the operator. A caller who may see the entry but
not its rows gets ``RowsForbidden``; one who may not see the entry gets "not found".

Row identity: ``_id`` is the row's position in the version (1, 2, …), stable for the version's life.
Inside the relation it is carried as ``_rn`` = the Parquet file row number (0-based), because DuckDB
prunes row groups and stops early on that column, not on an expression over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.catalog import service as catalog
from pubdata.catalog import vocab
from pubdata.catalog.models import CatalogEntry
from pubdata.errors import Forbidden, NotFound
from pubdata.store import files, table_schema
from pubdata.store.errors import TableNotFound, VersionNotFound
from pubdata.store.models import StoreTable, StoreVersion
from pubdata.store.semantic import quote_identifier, sql_literal

ROW_ID = "_id"
ROW_NUMBER = "_rn"  # 0-based file row number inside the relation; ROW_ID = ROW_NUMBER + 1


class RowsForbidden(Forbidden):
    code = "store.rows_forbidden"


class NoData(NotFound):
    code = "store.no_data"


@dataclass(frozen=True)
class ReadPlan:
    """What one caller may read of one version of one table."""

    resource_id: str
    resource_name: str
    entry_code: str
    entry_name: str
    version: int
    rows: int
    path: Path
    schema: table_schema.TableSchema
    fields: tuple[table_schema.SchemaField, ...]  # the columns the caller sees, in schema order
    publisher_org_id: int
    governed: bool  # not unconditionally open: every read is audited

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def relation(self) -> str:
        """A DuckDB subquery of the readable rows: ``_rn`` and the visible columns."""
        cols = ", ".join(quote_identifier(f.name) for f in self.fields)
        return (
            f"(SELECT file_row_number AS {ROW_NUMBER}, {cols} "
            f"FROM read_parquet({sql_literal(str(self.path))}, file_row_number = true))"
        )

    def field(self, name: str) -> table_schema.SchemaField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def may_read_rows(actor: Actor, entry: CatalogEntry) -> bool:
    """Whether the actor may read the rows of the entry's tables."""
    if not actor.can(Permission.STORE_ROWS_READ):
        return False
    if entry.open_type == "unconditional":
        return True
    return entry.organisation_id == actor.organisation_id or actor.can(Permission.CATALOG_ENTRY_CURATE)


def plan_read(session: Session, actor: Actor, resource_id: str, version: int | None = None, *, home: Path) -> ReadPlan:
    """The plan for reading a table's current version (or the published ``version`` asked for)."""
    require(actor, Permission.STORE_ROWS_READ)
    resource = catalog.get_resource(session, actor, resource_id)
    entry = resource.entry
    if not may_read_rows(actor, entry):
        message = f"无权读取该数据：{entry.title}（{open_label(entry.open_type)}）"
        audit.refuse(
            session,
            actor,
            audit.Event(
                "rows.read",
                reason=message,
                entry_code=entry.code,
                resource_id=resource.id,
                version=version,
                publisher_org_id=entry.organisation_id,
            ),
        )
        raise RowsForbidden(message)
    table = session.get(StoreTable, resource.id)
    if table is None:
        raise TableNotFound(f"资源尚未建立数据表：{resource_id}")
    number = version if version is not None else table.current_version
    if number is None:
        raise NoData(f"资源尚无已发布的数据：{resource.name}")
    row = session.scalar(
        select(StoreVersion).where(StoreVersion.resource_id == resource.id, StoreVersion.number == number)
    )
    if row is None or row.state != "published":
        raise VersionNotFound(f"版本不存在或未发布：{number}")
    schema = table_schema.parse_schema(table.table_schema)
    return ReadPlan(
        resource_id=resource.id,
        resource_name=resource.name,
        entry_code=entry.code,
        entry_name=entry.name,
        version=number,
        rows=row.rows_loaded,
        path=files.version_dir(home, resource.id, number) / files.DATA_FILE,
        schema=schema,
        fields=tuple(schema.fields),
        publisher_org_id=entry.organisation_id,
        governed=entry.open_type != "unconditional",
    )


def record_read(
    session: Session, actor: Actor, plan: ReadPlan, action: str, *, rows: int, query_text: str | None = None
) -> None:
    """Audit a read that returned ``rows`` rows of governed data (open data is not audited)."""
    if not plan.governed:
        return
    audit.record(
        session,
        actor,
        audit.Event(
            action,
            entry_code=plan.entry_code,
            resource_id=plan.resource_id,
            version=plan.version,
            rows=rows,
            query_digest=audit.digest_of(query_text) if query_text else None,
            publisher_org_id=plan.publisher_org_id,
        ),
    )


def readable_tables(session: Session, actor: Actor, entry_key: str) -> list[tuple[str, str, int | None]]:
    """(resource id, name, current version) of an entry's tables, when the actor may read its rows."""
    entry = catalog.get_entry(session, actor, entry_key)
    if not may_read_rows(actor, entry):
        return []
    out = []
    for resource in entry.resources:
        table = session.get(StoreTable, resource.id)
        if table is not None:
            out.append((resource.id, resource.name, table.current_version))
    return out


def open_label(code: str) -> str:
    term = vocab.OPEN_TYPE_BY_CODE.get(code)
    return term.label if term else code
