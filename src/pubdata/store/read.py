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

import hashlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from pubdata.access import masks, usage
from pubdata.access import service as access
from pubdata.access.row_filter import compile_filter
from pubdata.access.schemas import TableField
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.catalog import service as catalog
from pubdata.catalog import vocab
from pubdata.errors import Forbidden, NotFound, RateLimited, Unauthenticated
from pubdata.settings import get_settings
from pubdata.store import files, table_schema
from pubdata.store.errors import TableNotFound, VersionNotFound
from pubdata.store.ingest.semantic import quote_identifier, sql_literal
from pubdata.store.models import StoreTable, StoreVersion

if TYPE_CHECKING:
    from pubdata.catalog.models import CatalogEntry

ROW_ID = "_id"
ROW_NUMBER = "_rn"  # 0-based file row number inside the relation; ROW_ID = ROW_NUMBER + 1


class RowsForbidden(Forbidden):
    code = "store.rows_forbidden"


class NoData(NotFound):
    code = "store.no_data"


@dataclass(frozen=True)
class ReadPlan:
    """What one caller may read of one version of one table: which columns (each possibly masked),
    which rows (a contract's row filter), under which grant."""

    resource_id: str
    resource_name: str
    entry_code: str
    entry_name: str
    version: int
    rows: int
    path: Path
    schema: table_schema.TableSchema
    fields: tuple[table_schema.SchemaField, ...]  # the columns the caller sees (types as seen, once masked)
    publisher_org_id: int
    governed: bool  # not unconditionally open: every read is audited
    grant_id: int | None = None
    masks: dict[str, str] = field(default_factory=dict)  # column → mask rule
    row_filter_sql: str | None = None  # over the raw columns, inside the relation
    salt: str = ""  # of the hash mask, per grant
    rows_left: int | None = None  # the grant's daily row quota left when planned (None: no row quota)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def scope(self) -> str:
        """What distinguishes this caller's view of the version (for caches keyed by query)."""
        return f"grant:{self.grant_id}" if self.grant_id is not None else "full"

    @property
    def relation(self) -> str:
        """A DuckDB subquery of the readable rows: ``_rn`` and the visible columns, masked, filtered
        by the contract. Everything a caller does happens outside it, on what it exposes."""
        return self.relation_over(f"read_parquet({sql_literal(str(self.path))}, file_row_number = true)")

    def relation_over(self, source: str) -> str:
        """The same relation over ``source`` instead of the version's data file: some of the version's
        rows with the data file's columns and their ``file_row_number`` (the text index's rows file).
        The same masks and row filter apply, whatever the source."""
        cols = []
        for f in self.fields:
            raw = self.schema.field(f.name)
            column = quote_identifier(f.name)
            masked = masks.mask_sql(
                column, self.masks.get(f.name), salt=self.salt, duckdb_type=table_schema.duckdb_type(raw)
            )
            cols.append(column if masked == column else f"{masked} AS {column}")
        where = f" WHERE {self.row_filter_sql}" if self.row_filter_sql else ""
        return f"(SELECT file_row_number AS {ROW_NUMBER}, {', '.join(cols)} FROM {source}{where})"

    def audit_event(self, action: str, *, query_text: str | None = None, **fields: Any) -> audit.Event:
        """An audit event about this plan's table and grant (``fields``: rows, result, reason, …)."""
        return audit.Event(
            action,
            entry_code=self.entry_code,
            resource_id=self.resource_id,
            version=self.version,
            publisher_org_id=self.publisher_org_id,
            grant_id=self.grant_id,
            query_digest=audit.digest_of(query_text) if query_text else None,
            **fields,
        )

    def field(self, name: str) -> table_schema.SchemaField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def may_read_rows(actor: Actor, entry: CatalogEntry) -> bool:
    """Whether the actor may read the entry's tables without a grant (open data, or its own)."""
    if not actor.can(Permission.STORE_ROWS_READ):
        return False
    if entry.open_type == "unconditional":
        return True
    if not actor.can(Permission.STORE_ROWS_READ_GOVERNED):  # e.g. a token without the read scope
        return False
    return entry.organisation_id == actor.organisation_id or actor.can(Permission.STORE_ROWS_READ_ANY)


def has_row_access(session: Session, actor: Actor, entry: CatalogEntry, resource_id: str) -> bool:
    """Whether a read would be allowed now (without charging or auditing anything): for pages that
    decide whether to show a preview and download links."""
    if may_read_rows(actor, entry):
        return True
    if entry.open_type != "conditional" or not actor.can(Permission.STORE_ROWS_READ_GOVERNED):
        return False
    return access.active_grant(session, actor, resource_id, "rows") is not None  # never a sandbox or verify grant


def table_fields(schema: table_schema.TableSchema) -> list[TableField]:
    """The table's columns as the access domain checks requests against them."""
    return [TableField(f.name, f.type, f.personal_kind, f.title) for f in schema.fields]


def _refuse(
    session: Session, actor: Actor, entry: CatalogEntry, resource_id: str, version: int | None, why: str
) -> None:
    audit.refuse(
        session,
        actor,
        audit.Event(
            "rows.read", reason=why, entry_code=entry.code, resource_id=resource_id, version=version,
            publisher_org_id=entry.organisation_id,
        ),
    )  # fmt: skip


def _grant_for(
    session: Session,
    actor: Actor,
    entry: CatalogEntry,
    resource_id: str,
    version: int | None,
    purpose: str,
    grant_id: int | None = None,
    charge: bool = True,
) -> Any:
    """The consumer's active grant, charged one call (unless not ``charge``); refusals are explained
    and audited."""
    label = open_label(entry.open_type)
    if actor.is_authenticated and not actor.can(Permission.STORE_ROWS_READ_GOVERNED):  # a narrow token
        message = (
            f"无权读取该数据：{entry.title}（{label}；当前凭证的权限范围不含 "
            f"{Permission.STORE_ROWS_READ_GOVERNED.value}，请使用含 read 范围的令牌）"
        )
        _refuse(session, actor, entry, resource_id, version, message)
        raise RowsForbidden(message)
    # grants govern 有条件开放 data; a verification product's grant also answers over 不予开放 data
    # (match / no match only: only the operator builds such products, and no other grant reaches it)
    granted = entry.open_type == "conditional" or (purpose == "verify" and entry.open_type == "closed")
    grant = access.active_grant(session, actor, resource_id, purpose, grant_id=grant_id) if granted else None
    if grant is None:
        latest = access.latest_grant(session, actor, resource_id) if granted else None
        if purpose == "rows" and granted and access.active_grant(session, actor, resource_id, "aggregate"):
            message = f"该授权只允许在隐私计算沙箱中做聚合统计，不能读取明细：{entry.title}"
        elif latest is not None and access.grant_status(latest) != "active":
            status = access.grant_status(latest)
            why = {"revoked": "授权已被撤销", "expired": "授权已过期", "pending": "授权尚未生效"}.get(
                status, "授权无效"
            )
            message = f"无权读取该数据：{entry.title}（{why}）"
        elif granted:
            message = f"无权读取该数据：{entry.title}（{label}，需申请并获批后使用）"
        else:
            message = f"无权读取该数据：{entry.title}（{label}）"
        _refuse(session, actor, entry, resource_id, version, message)
        raise RowsForbidden(message)
    if not charge:
        return grant
    try:
        usage.charge_call(session, grant)
    except RateLimited as exc:
        _refuse(session, actor, entry, resource_id, version, exc.message)
        raise
    return grant


def plan_read(
    session: Session,
    actor: Actor,
    resource_id: str,
    version: int | None = None,
    *,
    home: Path,
    purpose: str = "rows",
    grant_id: int | None = None,
    charge: bool = True,
) -> ReadPlan:
    """The plan for reading a table's current version (or the published ``version`` asked for): the
    whole table for open data and for its publisher; the contract's columns, masks and rows for a
    consumer with an active grant (charged one call); refused (and audited) for anyone else.
    ``purpose="aggregate"`` is the sandbox's: it also accepts sandbox-only grants, whose masks apply
    inside the plan as on every other path (a group key is the masked value); ``purpose="verify"`` is
    a verification product's, and accepts only its verify grant (``access.service.MODES_FOR``);
    ``grant_id`` narrows the choice to that one grant of the caller's organisation. ``charge=False``
    plans without charging the call: only for describing what a read would return (a Delta Sharing
    client's metadata and version calls), never for reading rows."""
    require(actor, Permission.STORE_ROWS_READ)
    resource = catalog.get_resource(session, actor, resource_id)
    entry = resource.entry
    grant = (
        None
        if may_read_rows(actor, entry)
        else _grant_for(session, actor, entry, resource.id, version, purpose, grant_id, charge)
    )
    number_asked = StoreTable.current_version if version is None else literal(version)
    found = session.execute(
        select(StoreTable.table_schema, StoreTable.current_version, StoreVersion.state, StoreVersion.rows_loaded)
        .outerjoin(
            StoreVersion,
            (StoreVersion.resource_id == StoreTable.resource_id) & (StoreVersion.number == number_asked),
        )
        .where(StoreTable.resource_id == resource.id)
    ).first()  # the table and the version in one query: every row read starts here
    if found is None:
        raise TableNotFound(f"资源尚未建立数据表：{resource_id}")
    number = version if version is not None else found.current_version
    if number is None:
        raise NoData(f"资源尚无已发布的数据：{resource.name}")
    if found.state != "published":
        raise VersionNotFound(f"版本不存在或未发布：{number}")
    schema = table_schema.parse_schema(found.table_schema)
    plan = ReadPlan(
        resource_id=resource.id,
        resource_name=resource.name,
        entry_code=entry.code,
        entry_name=entry.name,
        version=number,
        rows=found.rows_loaded,
        path=files.version_dir(home, resource.id, number) / files.DATA_FILE,
        schema=schema,
        fields=tuple(schema.fields),
        publisher_org_id=entry.organisation_id,
        governed=entry.open_type != "unconditional",
        rows_left=None if grant is None else usage.rows_left(session, grant),
    )
    return plan if grant is None else _under_grant(plan, grant)


def _under_grant(plan: ReadPlan, grant: Any) -> ReadPlan:
    """The plan narrowed to a grant: its fields (schema order, still in the table), masked on every
    path, the sandbox included: aggregates grouped by a masked column group by the masked value, so a
    grant never releases through a group key what it hides in a row."""
    allowed = set(grant.fields)
    rules = {k: v for k, v in grant.masks.items() if k in allowed}
    visible = []
    for f in plan.schema.fields:
        if f.name in allowed:
            rule = rules.get(f.name)
            shown = masks.output_type(rule, f.type)
            visible.append(
                f if not rule else f.model_copy(update={"type": shown, "semantic_type": None, "constraints": None})
            )
    names = plan.schema.field_names
    salt = hmac.new(
        get_settings().resolved_secret_key().encode(), f"grant:{grant.id}".encode(), hashlib.sha256
    ).hexdigest()
    return replace(
        plan,
        fields=tuple(visible),
        grant_id=grant.id,
        masks=rules,
        row_filter_sql=compile_filter(grant.row_filter, names) if grant.row_filter else None,
        salt=salt,
    )


def record_read(
    session: Session,
    actor: Actor,
    plan: ReadPlan,
    action: str,
    *,
    rows: int,
    query_text: str | None = None,
    always: bool = False,
) -> None:
    """Audit a read that returned ``rows`` rows of governed data (open data is not audited unless
    ``always``: user SQL audits every statement)."""
    if not plan.governed and not always:
        return
    audit.record_later(session, actor, plan.audit_event(action, rows=rows, query_text=query_text))
    if plan.grant_id is not None:
        usage.charge_rows(session, plan.grant_id, rows)


@dataclass(frozen=True)
class RowsTaken:
    """What a read may return under its grants' daily row quotas."""

    rows: int  # return at most these rows
    truncated: bool  # the read was cut to what the quota left
    quota: usage.RowQuota | None = None  # where the tightest row quota stands now (None: no row quota)

    def marker(self) -> dict[str, Any] | None:
        """The ``quota`` object a response carries (None when no row quota applies)."""
        return None if self.quota is None else self.quota.as_json(truncated=self.truncated)


def rows_allowed(plans: ReadPlan | Sequence[ReadPlan]) -> int | None:
    """The most rows a read of these plans may return (the smallest row quota left when planned);
    None when no row quota applies. Use it in the query's LIMIT, so that no more rows are computed
    than may leave; ``take_rows`` then decides."""
    lefts = [p.rows_left for p in ([plans] if isinstance(plans, ReadPlan) else plans) if p.rows_left is not None]
    return min(lefts) if lefts else None


def take_rows(
    session: Session,
    actor: Actor,
    plans: ReadPlan | Sequence[ReadPlan],
    action: str,
    *,
    rows: int,
    query_text: str | None = None,
    whole: bool = False,
    always: bool = False,
) -> RowsTaken:
    """Charge a read of ``rows`` rows to its grants' daily row quotas and audit it: call it once the
    rows are computed and before any leaves, then return only ``.rows`` of them. Each grant's rows
    are reserved atomically (``usage.reserve_rows``), so concurrent readers never get more than a
    quota in total; a join of several grants returns the least any of them allows, and the others
    keep the rest. ``whole`` (a download): all or nothing — ``QuotaExceeded`` with the numbers,
    audited as a refusal, when fewer rows are left. ``always``: audit open data too (user SQL)."""
    plans = [plans] if isinstance(plans, ReadPlan) else list(plans)
    granted = rows
    held: list[tuple[int, int]] = []  # (grant, rows reserved)
    standing: dict[int, usage.RowQuota] = {}
    for plan in sorted(plans, key=lambda p: p.grant_id or 0):  # in grant order: no lock-order deadlock
        if plan.grant_id is None or plan.grant_id in standing:
            continue
        try:
            got, quota = usage.reserve_rows(session, plan.grant_id, granted, whole=whole)
        except usage.QuotaExceeded as exc:
            for grant_id, taken in held:
                usage.release_rows(session, grant_id, taken)
            audit.refuse(session, actor, plan.audit_event(action, reason=exc.message, rows=rows, query_text=query_text))
            raise
        if quota is not None:
            held.append((plan.grant_id, got))
            standing[plan.grant_id] = quota
            granted = min(granted, got)
    for grant_id, got in held:  # a grant that allowed more than another keeps the difference
        if got > granted:
            usage.release_rows(session, grant_id, got - granted)
            standing[grant_id] = replace(standing[grant_id], used=standing[grant_id].used - (got - granted))
    for plan in plans:
        record_read(session, actor, plan, action, rows=granted, query_text=query_text, always=always)
    tightest = min(standing.values(), key=lambda q: q.left, default=None)
    return RowsTaken(rows=granted, truncated=granted < rows, quota=tightest)


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


# --- rejected values ------------------------------------------------------------------------------
# A version's ``rejects.csv`` lists, per problem, the row number, the column, the value as written and
# the reason. The values are raw input that failed validation (possibly personal data that a mask or
# a check would have caught), so no grant and no open type lets anyone but the publishing department
# and the operator read them, and every read and refusal is audited, open data included.


class RejectsForbidden(Forbidden):
    code = "store.rejects_forbidden"


class RejectsNotFound(NotFound):
    code = "store.rejects_not_found"


@dataclass(frozen=True)
class RejectsPlan:
    """One authorised, audited read of a version's rejects file (row, column, value, reason)."""

    resource_id: str
    version: int
    rows_rejected: int
    path: Path

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            while chunk := fh.read(size):
                yield chunk


def may_read_rejects(actor: Actor, entry: CatalogEntry) -> bool:
    """Only the publishing department and the operator (``STORE_ROWS_READ_ANY``); never a grant
    holder nor the public, whatever the entry's open type."""
    if not actor.is_authenticated or not actor.can(Permission.STORE_ROWS_READ_GOVERNED):
        return False
    own = actor.organisation_id is not None and entry.organisation_id == actor.organisation_id
    return own or actor.can(Permission.STORE_ROWS_READ_ANY)


def plan_rejects(session: Session, actor: Actor, resource_id: str, number: int, *, home: Path) -> RejectsPlan:
    """The rejects file of version ``number`` (any state: a refused version's rejects say why) for the
    publishing department and the operator. Not found when the actor may not see the entry; refused
    (401 for the public, 403 otherwise) and audited for anyone else; every read is audited
    (``rejects.read``, rows = the version's rejected rows)."""
    require(actor, Permission.STORE_ROWS_READ)
    resource = catalog.get_resource(session, actor, resource_id)
    entry = resource.entry
    event = audit.Event(
        "rejects.read", entry_code=entry.code, resource_id=resource.id, version=number,
        publisher_org_id=entry.organisation_id,
    )  # fmt: skip
    if not may_read_rejects(actor, entry):
        message = f"无权读取拒收明细：{entry.title}（仅数据提供部门和运营方可读取）"
        event.reason = message
        audit.refuse(session, actor, event)
        if not actor.is_authenticated:
            raise Unauthenticated(f"需要登录：{message}", code="auth.login_required")
        raise RejectsForbidden(message)
    rejected = session.scalar(
        select(StoreVersion.rows_rejected).where(StoreVersion.resource_id == resource.id, StoreVersion.number == number)
    )
    if rejected is None:
        raise VersionNotFound(f"版本不存在：{number}")
    path = files.version_dir(home, resource.id, number) / files.REJECTS_FILE
    if not path.is_file():
        raise RejectsNotFound(f"版本 {number} 没有拒收明细文件")
    event.rows = rejected
    audit.record_later(session, actor, event)
    return RejectsPlan(resource_id=resource.id, version=number, rows_rejected=rejected, path=path)
