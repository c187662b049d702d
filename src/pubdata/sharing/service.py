"""The Delta Sharing protocol over the one read path.

A recipient (a profile, reading as its holder) sees two shares:

* ``granted`` — each table its organisation holds an active rows grant for (access review or a
  bought data product's entitlement), under the newest such grant, as every other path chooses;
* ``open_data`` — every table of the unconditionally open catalogue (无条件开放).

Schemas are catalogue entries (their URL names), tables are the entries' resources (by resource id).
Only tables with a published version are listed; a share, schema or table the recipient may not read
is "not found", names included. Metadata and version calls describe the read without charging it;
a query is one read: the plan is charged one call under the grant, the whole file's rows are taken
from the grant's daily row quota (all or nothing, as a download), and the read is audited
(``sharing.query``, open data included) — so grant metering (``audit.grant_usage``) counts it."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata.access import service as access
from pubdata.audit import service as audit
from pubdata.catalog import service as catalog
from pubdata.errors import NotFound
from pubdata.settings import get_settings
from pubdata.sharing import files, profiles
from pubdata.sharing.errors import FileUrlRefused, InvalidSharingRequest, ShareNotFound
from pubdata.sharing.profiles import Recipient
from pubdata.store.query import export
from pubdata.store.read import ReadPlan, plan_read, take_rows

GRANTED = "granted"
OPEN = "open_data"
SHARES = (GRANTED, OPEN)
MAX_RESULTS = 1000
QUERY_ACTION = "sharing.query"
DESCRIBE_ACTION = "sharing.describe"  # version and metadata calls: audited when refused only
_NAMESPACE = uuid.UUID("6f0c1c2e-3c55-4f0b-9a43-5d0c6a8f2b11")


@dataclass(frozen=True)
class TableRef:
    share: str
    schema: str  # the catalogue entry's URL name
    name: str  # the resource id
    grant_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "share": self.share, "shareId": _share_id(self.share),
                "id": str(uuid.uuid5(_NAMESPACE, f"{self.share}/{self.schema}/{self.name}"))}  # fmt: skip


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_page_token: str | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"items": self.items}
        if self.next_page_token:
            out["nextPageToken"] = self.next_page_token
        return out


def _share_id(share: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, share))


# --- what a recipient may read -------------------------------------------------------------------


def _granted_tables(session: Session, recipient: Recipient) -> list[TableRef]:
    actor = recipient.actor
    if actor.organisation_id is None:
        return []
    newest: dict[str, int] = {}
    for g in access.list_grants(session, actor):  # newest first
        if g.consumer_org_id == actor.organisation_id and g.mode == "rows" and g.status == "active":
            newest.setdefault(g.resource_id, g.id)
    entries, refs = [], []
    for resource_id, grant_id in newest.items():
        resource = catalog.get_resource(session, actor, resource_id)
        if resource.entry.open_type != "conditional":  # grants govern 有条件开放 data only
            continue
        entries.append(resource.entry)
        refs.append(TableRef(GRANTED, resource.entry.name, resource_id, grant_id))
    readable = export.table_downloads(session, actor, entries)
    return [r for r in refs if readable.get(r.name)]


def _open_tables(session: Session, recipient: Recipient) -> list[TableRef]:
    actor = recipient.actor
    refs: list[TableRef] = []
    offset = 0
    while True:
        query = catalog.SearchQuery(
            filters={"open_type": ["unconditional"]}, sort="code_asc", offset=offset, limit=1000, facets=()
        )
        found = catalog.search_entries(session, actor, query)
        readable = export.table_downloads(session, actor, found.entries)
        refs += [
            TableRef(OPEN, e.name, r.id)
            for e in found.entries
            if e.open_type == "unconditional"
            for r in e.resources
            if readable.get(r.id)
        ]
        offset += len(found.entries)
        if not found.entries or offset >= found.count:
            return refs


def tables_of(session: Session, recipient: Recipient, share: str) -> list[TableRef]:
    """The tables of a share the recipient may read now, ordered by schema and name."""
    if share == GRANTED:
        refs = _granted_tables(session, recipient)
    elif share == OPEN:
        refs = _open_tables(session, recipient)
    else:
        raise ShareNotFound(f"共享不存在：{share}")
    return sorted(refs, key=lambda r: (r.schema, r.name))


def table_ref(session: Session, recipient: Recipient, share: str, schema: str, table: str) -> TableRef:
    """One table of a share, if the recipient may read it now (the listing's rule, for one table)."""
    missing = ShareNotFound(f"数据表不存在：{share}.{schema}.{table}")
    if share not in SHARES:
        raise ShareNotFound(f"共享不存在：{share}")
    try:
        resource = catalog.get_resource(session, recipient.actor, table)
    except NotFound:
        raise missing from None
    entry = resource.entry
    grant_id = None
    if entry.name != schema:
        raise missing
    if share == OPEN:
        if entry.open_type != "unconditional":
            raise missing
    else:
        grant = access.active_grant(session, recipient.actor, resource.id, "rows")
        if entry.open_type != "conditional" or grant is None:
            raise missing
        grant_id = grant.id
    if not export.table_downloads(session, recipient.actor, [entry]).get(resource.id):
        raise missing
    return TableRef(share, schema, resource.id, grant_id)


def shared_file(
    session: Session, key: str, profile_id: int, grant_id: int, expires: int, sig: str, *, home: Path
) -> Path:
    """The file a pre-signed URL names, if its signature holds, it has not expired and its profile
    and grant (0: open data) are still active (403 otherwise)."""
    files.check_signature(key, profile_id, grant_id, expires, sig)
    if not profiles.profile_active(session, profile_id):
        raise FileUrlRefused("共享凭证已被吊销或已过期，文件链接失效", code="sharing.file_url_revoked")
    if grant_id:
        grant = access.grant_by_id(session, grant_id)
        if grant is None or access.grant_status(grant) != "active":
            raise FileUrlRefused("授权已撤销或已过期，文件链接失效", code="sharing.file_url_revoked")
    path = files.file_path(home, key)
    if not path.is_file():
        raise ShareNotFound("文件不存在")
    return path


# --- listing, with pagination --------------------------------------------------------------------


def _page_token(context: str, offset: int) -> str:
    mac = hmac.new(get_settings().resolved_secret_key().encode(), f"page:{context}:{offset}".encode(), hashlib.sha256)
    return f"{offset}.{mac.hexdigest()[:16]}"


def _offset(context: str, token: str | None) -> int:
    if not token:
        return 0
    offset, _, _ = token.partition(".")
    if not offset.isdecimal() or not hmac.compare_digest(_page_token(context, int(offset)), token):
        raise InvalidSharingRequest("pageToken 无效", field="pageToken")
    return int(offset)


def _page(context: str, items: list[dict[str, Any]], max_results: int | None, page_token: str | None) -> Page:
    if max_results is not None and max_results < 0:
        raise InvalidSharingRequest("maxResults 不能为负数", field="maxResults")
    size = MAX_RESULTS if not max_results else min(max_results, MAX_RESULTS)
    start = _offset(context, page_token)
    end = start + size
    return Page(items[start:end], _page_token(context, end) if end < len(items) else None)


def list_shares(session: Session, recipient: Recipient, max_results: int | None, page_token: str | None) -> Page:
    items = [{"name": s, "id": _share_id(s)} for s in SHARES]
    return _page("shares", items, max_results, page_token)


def get_share(session: Session, recipient: Recipient, share: str) -> dict[str, Any]:
    if share not in SHARES:
        raise ShareNotFound(f"共享不存在：{share}")
    return {"share": {"name": share, "id": _share_id(share)}}


def list_schemas(
    session: Session, recipient: Recipient, share: str, max_results: int | None, page_token: str | None
) -> Page:
    schemas = sorted({r.schema for r in tables_of(session, recipient, share)})
    return _page(f"schemas:{share}", [{"name": s, "share": share} for s in schemas], max_results, page_token)


def list_tables(
    session: Session,
    recipient: Recipient,
    share: str,
    schema: str | None,
    max_results: int | None,
    page_token: str | None,
) -> Page:
    """The tables of one schema of the share (``schema``) or of all its schemas (``None``)."""
    refs = tables_of(session, recipient, share)
    if schema is not None:
        refs = [r for r in refs if r.schema == schema]
        if not refs:
            raise ShareNotFound(f"数据库不存在：{share}.{schema}")
    return _page(f"tables:{share}:{schema}", [r.as_json() for r in refs], max_results, page_token)


# --- version, metadata, query --------------------------------------------------------------------


def _plan(
    session: Session, recipient: Recipient, ref: TableRef, home: Path, version: int | None, charge: bool
) -> ReadPlan:
    return plan_read(session, recipient.actor, ref.name, version, home=home, grant_id=ref.grant_id, charge=charge)


def table_version(session: Session, recipient: Recipient, share: str, schema: str, table: str, *, home: Path) -> int:
    """The table's current version (not charged: nothing is read)."""
    ref = _table_or_refuse(session, recipient, share, schema, table, DESCRIBE_ACTION)
    return _plan(session, recipient, ref, home, None, charge=False).version


def _metadata(plan: ReadPlan, ref: TableRef, home: Path, delta: bool, shared: files.SharedFile | None) -> list[str]:
    cols = files.columns(plan, home)
    table_id = ref.as_json()["id"]
    size = {"size": shared.size, "numFiles": 1} if shared is not None else {}
    protocol: dict[str, Any]
    meta: dict[str, Any]
    if delta:
        protocol = {"protocol": {"deltaProtocol": {"minReaderVersion": 1, "minWriterVersion": 2}}}
        meta = {
            "metaData": {
                "deltaMetadata": {
                    "id": table_id,
                    "name": ref.name,
                    "description": plan.resource_name,
                    "format": {"provider": "parquet", "options": {}},
                    "schemaString": files.schema_string(cols),
                    "partitionColumns": [],
                    "configuration": {},
                },
                "version": plan.version,
                **size,
            }
        }
    else:
        protocol = {"protocol": {"minReaderVersion": 1}}
        meta = {
            "metaData": {
                "id": table_id,
                "name": ref.name,
                "description": plan.resource_name,
                "format": {"provider": "parquet"},
                "schemaString": files.schema_string(cols),
                "partitionColumns": [],
                "configuration": {},
                "version": plan.version,
                **size,
            }
        }
    return [_line(protocol), _line(meta)]


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def table_metadata(
    session: Session, recipient: Recipient, share: str, schema: str, table: str, *, home: Path, delta: bool
) -> tuple[int, list[str]]:
    """(version, the protocol and metaData lines) of the table as the recipient sees it: its visible
    columns, masked types included (not charged: no row is read)."""
    ref = _table_or_refuse(session, recipient, share, schema, table, DESCRIBE_ACTION)
    plan = _plan(session, recipient, ref, home, None, charge=False)
    return plan.version, _metadata(plan, ref, home, delta, None)


def _version_asked(body: dict[str, Any]) -> int | None:
    if body.get("timestamp") is not None:
        raise InvalidSharingRequest("不支持按时间戳查询历史版本，请使用 version", field="timestamp")
    for unsupported in ("startingVersion", "endingVersion"):
        if body.get(unsupported) is not None:
            raise InvalidSharingRequest(f"不支持变更数据查询（{unsupported}）", field=unsupported)
    version = body.get("version")
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InvalidSharingRequest("version 应为非负整数", field="version")
    return version


def query_table(
    session: Session,
    recipient: Recipient,
    share: str,
    schema: str,
    table: str,
    body: dict[str, Any],
    *,
    home: Path,
    base_url: str,
    delta: bool,
) -> tuple[int, list[str]]:
    """One read of the table (current or ``body["version"]``): materialised as the recipient's view,
    charged (a call; the file's rows from the daily row quota, all or nothing), audited
    (``sharing.query``), answered with the protocol, metaData and file lines and a pre-signed URL.
    Predicate and limit hints are hints: the whole view is always returned."""
    version = _version_asked(body)
    ref = _table_or_refuse(session, recipient, share, schema, table, QUERY_ACTION)
    plan = _plan(session, recipient, ref, home, version, charge=True)
    shared = files.materialise(plan, home)
    take_rows(session, recipient.actor, plan, QUERY_ACTION, rows=shared.rows, whole=True, always=True)
    url, expires_ms = files.signed_url(base_url, shared.key, recipient.profile_id, plan.grant_id)
    stats = json.dumps({"numRecords": shared.rows})
    if delta:
        add = {
            "path": url,
            "partitionValues": {},
            "size": shared.size,
            "modificationTime": shared.modified_ms,
            "dataChange": True,
            "stats": stats,
        }
        file = {"file": {"id": shared.key, "deltaSingleAction": {"add": add}, "expirationTimestamp": expires_ms}}
    else:
        file = {
            "file": {
                "url": url,
                "id": shared.key,
                "partitionValues": {},
                "size": shared.size,
                "stats": stats,
                "version": plan.version,
                "timestamp": shared.modified_ms,
                "expirationTimestamp": expires_ms,
            }
        }
    return plan.version, [*_metadata(plan, ref, home, delta, shared), _line(file)]


def _table_or_refuse(
    session: Session, recipient: Recipient, share: str, schema: str, table: str, action: str
) -> TableRef:
    """``table_ref``, with a refusal audited as ``action``: naming the table when it exists (the
    recipient is told "not found")."""
    try:
        return table_ref(session, recipient, share, schema, table)
    except ShareNotFound as exc:
        _refuse(session, recipient, table, exc.message, action)
        raise


def _refuse(session: Session, recipient: Recipient, table: str, reason: str, action: str) -> None:
    event = audit.Event(action, reason=reason)
    try:
        resource = catalog.get_resource(session, recipient.actor, table)
    except NotFound:
        resource = None
    if resource is not None:
        event.entry_code, event.resource_id = resource.entry.code, resource.id
        event.publisher_org_id = resource.entry.organisation_id
    audit.refuse(session, recipient.actor, event)


def iter_lines(lines: list[str]) -> Iterator[bytes]:
    for line in lines:
        yield (line + "\n").encode()
