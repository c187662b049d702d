"""Access requests and reviews for store tables: the store knows the table's columns, the access
domain (below it) keeps the requests, decisions and grants. The read path enforces the grants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pubdata.access import service as access
from pubdata.access.schemas import Decision, RequestCreate, RequestRead, TableField
from pubdata.authz import SYSTEM, Actor
from pubdata.store import service as store
from pubdata.store import table_schema
from pubdata.store.read import table_fields

if TYPE_CHECKING:
    from pubdata.access.models import AccessRequest


def table_columns(session: Session, resource_id: str) -> list[TableField]:
    """The table's columns, as requests are checked against them."""
    # the table's columns are public metadata (like its schema page); read them as the system
    table = store.get_table(session, SYSTEM, resource_id)
    return table_fields(table_schema.parse_schema(table.table_schema))


def request_access(session: Session, actor: Actor, resource_id: str, data: RequestCreate) -> RequestRead:
    """Ask for a conditionally open table (its fields checked against the table)."""
    store.get_table(session, actor, resource_id)  # not found for what the actor may not see
    request = access.submit_request(session, actor, resource_id, data, table_columns(session, resource_id))
    return access.get_request(session, actor, request.id)


def review_access(session: Session, actor: Actor, request_id: int, decision: Decision) -> RequestRead:
    """The department's or the operator's decision on a request."""
    request: AccessRequest = access.visible_request(session, actor, request_id)
    access.review_request(session, actor, request_id, decision, table_columns(session, request.resource_id))
    return access.get_request(session, actor, request_id)
