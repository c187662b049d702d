"""CKAN's dictionaries (package, resource, organization, group, tag) built from the catalogue's read
schemas. Times are naive UTC ISO strings, as CKAN writes them.

``package_show`` and ``resource_show`` also carry the data store's facts (``package_show_dict`` and
``resource_show_dict``): each resource with a published version is ``datastore_active`` (as CKAN's
DataStore marks queryable resources) with its ``current_version``, ``row_count`` and
``quality_score``; the package's extras carry ``quality_score`` and ``quality_<dimension>`` for the
six dimensions, each the mean over the entry's tables' current versions (timeliness as of now), as
strings like every extra ("" when not scored)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog import vocab
from pubdata.catalog.schemas import EntryRead, ResourceRead, entry_read
from pubdata.store.errors import TableNotFound
from pubdata.store.quality import report as quality_report
from pubdata.store.quality.checks import DIMENSIONS

_TAG_NAMESPACE = uuid.UUID("7b6f3c0e-4d1a-5e8f-9a2b-1c3d5e7f9a0b")


def ckan_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def tag_id(name: str) -> str:
    """Tags have no table of their own here: a stable UUID derived from the name stands in."""
    return str(uuid.uuid5(_TAG_NAMESPACE, name))


def tag_dict(name: str) -> dict[str, Any]:
    return {"id": tag_id(name), "name": name, "display_name": name, "state": "active", "vocabulary_id": None}


def resource_dict(
    resource: ResourceRead,
    package_id: str,
    position: int,
    base_url: str,
    store: quality_report.TableQuality | None = None,
) -> dict[str, Any]:
    out = {
        "id": resource.id,
        "package_id": package_id,
        "name": resource.name,
        "description": resource.description,
        "format": resource.format,
        "url": f"{base_url.rstrip('/')}/api/v1/resources/{resource.id}",
        "url_type": None,
        "resource_type": None,
        "mimetype": None,
        "size": None,
        "hash": "",
        "state": "active",
        "created": ckan_time(resource.created_at),
        "last_modified": ckan_time(resource.modified_at),
        "metadata_modified": ckan_time(resource.modified_at),
        "position": position,
        "datastore_active": False,
    }
    if store is not None:
        out.update(_store_fields(store, base_url))
    return out


def _store_fields(store: quality_report.TableQuality, base_url: str) -> dict[str, Any]:
    report = store.report or {}
    return {
        "datastore_active": store.current_version is not None,
        "current_version": store.current_version,
        "row_count": store.rows,
        "quality_score": report.get("score"),
        "quality_url": f"{base_url.rstrip('/')}/api/v1/resources/{store.resource_id}/quality",
    }


def organization_dict(org: Any, package_count: int | None = None) -> dict[str, Any]:
    """An organisation (ORM row or schema with id, code, name[, description, created_at])."""
    out: dict[str, Any] = {
        "id": str(org.id),
        "name": org.code,
        "title": org.name,
        "display_name": org.name,
        "description": getattr(org, "description", "") or "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
        "created": ckan_time(getattr(org, "created_at", None)),
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def group_dict(term: vocab.Term, package_count: int | None = None) -> dict[str, Any]:
    """One of the 19 catalogue categories as a CKAN group; its id and name are the category code."""
    out: dict[str, Any] = {
        "id": term.code,
        "name": term.code,
        "title": term.label,
        "display_name": term.label,
        "description": term.description,
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def _temporal(entry: EntryRead) -> str:
    start = entry.temporal_start.isoformat() if entry.temporal_start else ""
    end = entry.temporal_end.isoformat() if entry.temporal_end else ""
    return f"{start}/{end}" if start or end else ""


def _score_text(score: float | None) -> str:
    return "" if score is None else f"{score:g}"


def package_dict(
    entry: EntryRead, base_url: str, store: list[quality_report.TableQuality] | None = None
) -> dict[str, Any]:
    package_id = str(entry.id)
    base = base_url.rstrip("/")
    category = vocab.CATEGORY_BY_CODE[entry.category]
    fields = [f.model_dump() for f in entry.fields]
    extras = {
        "code": entry.code,
        "category": entry.category_label,
        "open_type": entry.open_type_label,
        "security_grade": entry.security_grade_label,
        "update_frequency": entry.update_frequency_label,
        "spatial_coverage": entry.district,
        "temporal_coverage": _temporal(entry),
        "temporal_start": entry.temporal_start.isoformat() if entry.temporal_start else "",
        "temporal_end": entry.temporal_end.isoformat() if entry.temporal_end else "",
        "contact_phone": entry.contact_phone,
        "fields": json.dumps(fields, ensure_ascii=False),
    }
    tables = {t.resource_id: t for t in store or []}
    if store is not None:
        summary = quality_report.entry_summary(store)
        extras["quality_score"] = _score_text(summary["score"])
        for name in DIMENSIONS:
            extras[f"quality_{name}"] = _score_text(summary["dimensions"][name])
        extras["quality_tables"] = str(summary["tables"])
    return {
        "id": package_id,
        "name": entry.name,
        "title": entry.title,
        "notes": entry.description,
        "url": f"{base}/api/v1/entries/{entry.name}",
        "version": None,
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": entry.open_type == "unconditional",
        "author": entry.contact_name,
        "author_email": entry.contact_email,
        "maintainer": entry.contact_name,
        "maintainer_email": entry.contact_email,
        "license_id": entry.licence,
        "license_title": entry.licence,
        "license_url": None,
        "metadata_created": ckan_time(entry.created_at),
        "metadata_modified": ckan_time(entry.modified_at),
        "creator_user_id": None,
        "owner_org": str(entry.organisation.id),
        "organization": organization_dict(entry.organisation),
        "groups": [group_dict(category)],
        "tags": [tag_dict(t) for t in entry.tags],
        "num_tags": len(entry.tags),
        "resources": [resource_dict(r, package_id, i, base, tables.get(r.id)) for i, r in enumerate(entry.resources)],
        "num_resources": len(entry.resources),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def package_show_dict(session: Session, actor: Actor, entry: Any, base_url: str) -> dict[str, Any]:
    """``package_show``'s dict of an entry (ORM row the actor may see), with the data store's facts."""
    return package_dict(entry_read(entry), base_url, quality_report.entry_quality(session, actor, entry.id))


def resource_show_dict(session: Session, actor: Actor, resource: Any, base_url: str) -> dict[str, Any]:
    """``resource_show``'s dict of a resource (ORM row the actor may see), with the data store's facts."""
    try:
        store: quality_report.TableQuality | None = quality_report.table_quality(session, actor, resource.id)
    except TableNotFound:
        store = None
    read = ResourceRead.model_validate(resource)
    return resource_dict(read, str(resource.entry_id), resource.position, base_url, store)
