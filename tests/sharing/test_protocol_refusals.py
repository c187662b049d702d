"""What the real ``delta-sharing`` client is refused: revoked and expired profiles (401, audited; the
file URLs already handed out die with the profile), reads past a grant's daily row or call quota
(429, audited, nothing counted), and the delta response format's shape when a client asks only for
it."""

from __future__ import annotations

import json
from datetime import timedelta

import delta_sharing
import httpx
import pytest
from requests.exceptions import HTTPError
from sqlalchemy import select, update

from pubdata.audit.models import AuditRecord
from pubdata.db import utcnow
from pubdata.sharing import profiles
from pubdata.sharing.models import SharingProfile
from tests.sharing.world import GRANTED, build, write_profile

pytestmark = pytest.mark.server


def _rest(profile_path):
    from delta_sharing.protocol import DeltaSharingProfile
    from delta_sharing.rest_client import DataSharingRestClient

    return DataSharingRestClient(DeltaSharingProfile.read_from_file(str(profile_path)), num_retries=0)


def _granted_url(world) -> str:
    return f"{world.profile_path}#granted.{world.people.entry_name}.{world.people.resource_id}"


def _refusals(live_server, action: str) -> list[AuditRecord]:
    with live_server.session() as s:
        stmt = select(AuditRecord).where(AuditRecord.action == action, AuditRecord.result == "refused")
        return list(s.scalars(stmt.order_by(AuditRecord.seq)))


def _issue(live_server, world, tmp_path, name: str):
    from pubdata.identity import service as identity

    with live_server.session() as s:
        bank = identity.actor_for(identity.get_user(s, world.bank_username), via="session")
        row, file = profiles.issue_profile(s, bank, name=name, base_url=live_server.url)
        return row.id, write_profile(tmp_path / f"{name}.share", file)


@pytest.fixture(scope="module")
def world(live_server, tmp_path_factory):
    return build(live_server, tmp_path_factory.mktemp("refusals"))


def test_a_revoked_profile_is_refused_and_its_file_urls_die_with_it(world, live_server, tmp_path):
    profile_id, path = _issue(live_server, world, tmp_path, "revoked")
    r = httpx.post(
        f"{live_server.url}/delta-sharing/shares/granted/schemas/{world.people.entry_name}/tables/"
        f"{world.people.resource_id}/query",
        json={},
        headers={"Authorization": f"Bearer {json.loads(path.read_text())['bearerToken']}"},
    )
    assert r.status_code == 200
    file_url = json.loads(r.text.splitlines()[2])["file"]["url"]
    assert httpx.get(file_url).status_code == 200
    with live_server.session() as s:
        s.execute(update(SharingProfile).where(SharingProfile.id == profile_id).values(revoked_at=utcnow()))
    before = len(_refusals(live_server, "sharing.auth"))
    with pytest.raises(HTTPError) as info:
        delta_sharing.SharingClient(str(path)).list_all_tables()
    assert info.value.response.status_code == 401
    assert info.value.response.json()["errorCode"] == "UNAUTHENTICATED"
    refusals = _refusals(live_server, "sharing.auth")
    assert len(refusals) == before + 1 and refusals[-1].reason == "共享凭证已被吊销"
    r = httpx.get(file_url)
    assert r.status_code == 403 and r.json()["details"]["code"] == "sharing.file_url_revoked"


def test_an_expired_profile_is_refused(world, live_server, tmp_path):
    profile_id, path = _issue(live_server, world, tmp_path, "expired")
    assert len(delta_sharing.SharingClient(str(path)).list_all_tables()) == 2
    with live_server.session() as s:
        past = utcnow() - timedelta(seconds=1)
        s.execute(update(SharingProfile).where(SharingProfile.id == profile_id).values(expires_at=past))
    with pytest.raises(HTTPError) as info:
        delta_sharing.load_as_pandas(str(path) + _granted_url(world)[len(str(world.profile_path)) :])
    assert info.value.response.status_code == 401
    assert _refusals(live_server, "sharing.auth")[-1].reason == "共享凭证已过期"


def test_an_unknown_token_is_refused(live_server):
    r = httpx.get(f"{live_server.url}/delta-sharing/shares", headers={"Authorization": "Bearer pds_nothing"})
    assert r.status_code == 401 and r.json()["errorCode"] == "UNAUTHENTICATED"
    r = httpx.get(f"{live_server.url}/delta-sharing/shares")
    assert r.status_code == 401


def test_a_read_larger_than_the_rows_left_today_is_refused_whole(live_server, tmp_path_factory):
    world = build(live_server, tmp_path_factory.mktemp("row-quota"), daily_row_quota=15)
    rest = _rest(world.profile_path)
    from delta_sharing.protocol import Table

    table = Table(world.people.resource_id, "granted", world.people.entry_name)
    assert len(rest.list_files_in_table(table).add_files) == 1  # 10 rows of 15
    with pytest.raises(HTTPError) as info:  # 10 more do not fit in the 5 left: all or nothing
        rest.list_files_in_table(table)
    response = info.value.response
    assert response.status_code == 429 and response.json()["errorCode"] == "RESOURCE_EXHAUSTED"
    assert int(response.headers["Retry-After"]) > 0
    details = response.json()["details"]
    assert (details["rows_asked"], details["rows_left_today"], details["code"]) == (10, 5, "access.quota_exceeded")
    refused = [r for r in _refusals(live_server, "sharing.query") if r.grant_id == world.grant_id]
    assert len(refused) == 1 and refused[0].rows == 10
    with live_server.session() as s:
        from pubdata.access import usage

        assert usage.usage_today(s, world.grant_id)[1] == 10  # the refused read took nothing


def test_the_daily_call_quota_holds_for_queries_not_for_metadata(live_server, tmp_path_factory):
    world = build(live_server, tmp_path_factory.mktemp("call-quota"), daily_call_quota=1)
    rest = _rest(world.profile_path)
    from delta_sharing.protocol import Table

    table = Table(world.people.resource_id, "granted", world.people.entry_name)
    for _ in range(3):  # describing the table is no read
        assert rest.query_table_metadata(table).delta_table_version == 1
    assert len(delta_sharing.load_as_pandas(_granted_url(world))) == 10  # metadata + one query: one call
    with pytest.raises(HTTPError) as info:
        rest.list_files_in_table(table)
    assert info.value.response.status_code == 429


def test_the_delta_response_format_when_a_client_asks_only_for_it(world, live_server):
    token = json.loads(world.profile_path.read_text())["bearerToken"]
    r = httpx.post(
        f"{live_server.url}/delta-sharing/shares/granted/schemas/{world.people.entry_name}/tables/"
        f"{world.people.resource_id}/query",
        json={"version": 1},
        headers={"Authorization": f"Bearer {token}", "delta-sharing-capabilities": "responseformat=delta"},
    )
    assert r.status_code == 200 and r.headers["delta-sharing-capabilities"] == "responseformat=delta"
    protocol, meta, file = (json.loads(line) for line in r.text.splitlines())
    assert protocol["protocol"]["deltaProtocol"] == {"minReaderVersion": 1, "minWriterVersion": 2}
    schema = json.loads(meta["metaData"]["deltaMetadata"]["schemaString"])
    assert [f["name"] for f in schema["fields"]] == GRANTED and meta["metaData"]["version"] == 1
    add = file["file"]["deltaSingleAction"]["add"]
    assert json.loads(add["stats"])["numRecords"] == 10 and httpx.get(add["path"]).status_code == 200
    r = httpx.post(
        f"{live_server.url}/delta-sharing/shares/granted/schemas/{world.people.entry_name}/tables/"
        f"{world.people.resource_id}/query",
        json={"version": 9},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 404 and r.json()["errorCode"] == "RESOURCE_DOES_NOT_EXIST"
    r = httpx.post(
        f"{live_server.url}/delta-sharing/shares/granted/schemas/{world.people.entry_name}/tables/"
        f"{world.people.resource_id}/query",
        json={"timestamp": "2026-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_PARAMETER_VALUE"


def test_a_grant_revoked_after_the_query_kills_its_file_url_and_its_table(live_server, tmp_path_factory):
    from pubdata.access import service as access
    from pubdata.authz import SYSTEM

    world = build(live_server, tmp_path_factory.mktemp("revoked-grant"))
    token = json.loads(world.profile_path.read_text())["bearerToken"]
    r = httpx.post(
        f"{live_server.url}/delta-sharing/shares/granted/schemas/{world.people.entry_name}/tables/"
        f"{world.people.resource_id}/query",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200
    url = json.loads(r.text.splitlines()[2])["file"]["url"]
    assert f"grant={world.grant_id}&" in url and httpx.get(url).status_code == 200
    with live_server.session() as s:
        access.revoke_grant(s, SYSTEM, world.grant_id, "合同终止")
    r = httpx.get(url)
    assert r.status_code == 403 and r.json()["details"]["code"] == "sharing.file_url_revoked"
    tables = delta_sharing.SharingClient(str(world.profile_path)).list_all_tables()
    assert {t.share for t in tables} == {"open_data"}  # the table left the granted share
