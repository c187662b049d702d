"""The official ``delta-sharing`` Python client against a live pubdata server: it lists only what
the recipient may read, reads a granted table exactly as the rows API gives it (masked, filtered),
and is refused everything else."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import delta_sharing
import httpx
import pytest

from tests.sharing.world import GRANTED, build

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def world(live_server, tmp_path_factory):
    return build(live_server, tmp_path_factory.mktemp("sharing"))


def test_list_all_tables_shows_only_granted_and_open_tables(world):
    client = delta_sharing.SharingClient(str(world.profile_path))
    assert sorted(s.name for s in client.list_shares()) == ["granted", "open_data"]
    tables = {(t.share, t.schema, t.name) for t in client.list_all_tables()}
    assert tables == {
        ("granted", world.people.entry_name, world.people.resource_id),
        ("open_data", world.open.entry_name, world.open.resource_id),
    }
    assert world.other.resource_id not in {t[2] for t in tables}


def test_load_as_pandas_returns_the_grant_view_as_the_rows_api_does(world, live_server):
    url = f"{world.profile_path}#granted.{world.people.entry_name}.{world.people.resource_id}"
    frame = delta_sharing.load_as_pandas(url)
    assert list(frame.columns) == GRANTED
    r = httpx.get(
        f"{live_server.url}/api/v1/resources/{world.people.resource_id}/rows",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {world.api_token}"},
    )
    assert r.status_code == 200, r.text
    expected = [{k: v for k, v in rec.items() if k != "_id"} for rec in r.json()["records"]]
    got = frame.to_dict(orient="records")
    assert len(got) == len(expected) == 10
    assert [{k: (v if not hasattr(v, "item") else v.item()) for k, v in row.items()} for row in got] == expected
    assert {row["district"] for row in got} == {"崂山区"}
    assert all("*" in row["name"] and "****" in row["phone"] for row in got)


def _rest(profile_path):
    from delta_sharing.protocol import DeltaSharingProfile
    from delta_sharing.rest_client import DataSharingRestClient

    return DataSharingRestClient(DeltaSharingProfile.read_from_file(str(profile_path)), num_retries=0)


def test_a_table_not_granted_is_not_found_and_its_names_stay_hidden(world, live_server):
    from requests.exceptions import HTTPError

    for share in ("granted", "open_data"):
        url = f"{world.profile_path}#{share}.{world.other.entry_name}.{world.other.resource_id}"
        with pytest.raises(HTTPError) as info:
            delta_sharing.load_as_pandas(url)
        assert info.value.response.status_code == 404
        assert info.value.response.json()["errorCode"] == "RESOURCE_DOES_NOT_EXIST"
    client = delta_sharing.SharingClient(str(world.profile_path))
    schemas = {s.name for share in client.list_shares() for s in client.list_schemas(share)}
    assert world.other.entry_name not in schemas
    from sqlalchemy import select

    from pubdata.audit.models import AuditRecord

    with live_server.session() as s:
        refused = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action.in_(["sharing.describe", "sharing.query"]),
                AuditRecord.result == "refused",
                AuditRecord.resource_id == world.other.resource_id,
            )
        ).all()
    assert len(refused) == 2  # both attempts, naming the table the recipient was told is not there


def test_pagination_version_and_metadata(world):
    from delta_sharing.protocol import Share, Table

    rest = _rest(world.profile_path)
    first = rest.list_shares(max_results=1)
    assert len(first.shares) == 1 and first.next_page_token
    second = rest.list_shares(max_results=1, page_token=first.next_page_token)
    assert len(second.shares) == 1 and second.next_page_token is None
    assert {first.shares[0].name, second.shares[0].name} == {"granted", "open_data"}
    page = rest.list_all_tables(Share("open_data"), max_results=1)
    assert [t.name for t in page.tables] == [world.open.resource_id] and page.next_page_token is None
    table = Table(world.people.resource_id, "granted", world.people.entry_name)
    assert rest.query_table_version(table).delta_table_version == 1
    meta = rest.query_table_metadata(table)
    assert meta.delta_table_version == 1
    fields = {f["name"]: f["type"] for f in json.loads(meta.metadata.schema_string)["fields"]}
    assert list(fields) == GRANTED and fields["birth"] == "long"  # masked to the year
    assert rest.autoresolve_query_format(table) == "parquet"


def test_query_is_audited_and_metered_as_a_read_of_the_grant(world, live_server):
    from sqlalchemy import select

    from pubdata.audit import service as audit
    from pubdata.audit.models import AuditRecord

    url = f"{world.profile_path}#granted.{world.people.entry_name}.{world.people.resource_id}"
    start = datetime.now(UTC) - timedelta(minutes=1)
    with live_server.session() as s:
        before = audit.grant_usage(s, [world.grant_id], start, start + timedelta(days=1)).get(world.grant_id, (0, 0))
    assert len(delta_sharing.load_as_pandas(url)) == 10
    with live_server.session() as s:
        after = audit.grant_usage(s, [world.grant_id], start, start + timedelta(days=1))[world.grant_id]
        record = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "sharing.query").order_by(AuditRecord.seq.desc())
        ).first()
        assert record is not None
        assert (record.grant_id, record.rows, record.via, record.result) == (world.grant_id, 10, "sharing", "allowed")
        assert record.resource_id == world.people.resource_id
    assert after == (before[0] + 1, before[1] + 10)


def _query(world, live_server, share="granted"):
    loaded = world.people if share == "granted" else world.open
    r = httpx.post(
        f"{live_server.url}/delta-sharing/shares/{share}/schemas/{loaded.entry_name}/tables/{loaded.resource_id}/query",
        json={},
        headers={"Authorization": f"Bearer {json.loads(world.profile_path.read_text())['bearerToken']}"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["delta-table-version"] == "1"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert list(lines[0]) == ["protocol"] and list(lines[1]) == ["metaData"]
    return lines[2]["file"]


def test_pre_signed_urls_serve_byte_ranges_and_refuse_tampering_and_expiry(world, live_server):
    from pubdata.sharing import files

    file = _query(world, live_server, "open_data")
    whole = httpx.get(file["url"])
    assert whole.status_code == 200 and len(whole.content) == file["size"]
    assert whole.headers["accept-ranges"] == "bytes"
    head = httpx.head(file["url"])
    assert head.status_code == 200 and int(head.headers["content-length"]) == file["size"]
    part = httpx.get(file["url"], headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"PAR1" == whole.content[:4]
    assert part.headers["content-range"] == f"bytes 0-3/{file['size']}"
    middle = httpx.get(file["url"], headers={"Range": "bytes=10-99"})
    assert middle.status_code == 206 and middle.content == whole.content[10:100]
    tail = httpx.get(file["url"], headers={"Range": "bytes=-8"})
    assert tail.status_code == 206 and tail.content == whole.content[-8:] and tail.content.endswith(b"PAR1")
    beyond = httpx.get(file["url"], headers={"Range": f"bytes={file['size']}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{file['size']}"
    assert file["expirationTimestamp"] > time.time() * 1000

    tampered = re.sub(r"sig=([0-9a-f])", lambda m: "sig=" + ("0" if m.group(1) != "0" else "1"), file["url"])
    r = httpx.get(tampered)
    assert r.status_code == 403 and r.json()["errorCode"] == "PERMISSION_DENIED"
    stretched = re.sub(r"expires=(\d+)", lambda m: f"expires={int(m.group(1)) + 3600}", file["url"])
    assert httpx.get(stretched).status_code == 403
    expired_url, _ = files.signed_url(live_server.url, file["id"], world.profile_id, None, now=time.time() - 3600)
    r = httpx.get(expired_url)
    assert r.status_code == 403 and r.json()["details"]["code"] == "sharing.file_url_expired"
