"""The CKAN Action API, driven by the real ``ckanapi`` client against a running server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from ckanapi import RemoteCKAN
from ckanapi.errors import CKANAPIError, NotAuthorized, NotFound, SearchQueryError, ValidationError

from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.db import utcnow
from pubdata.identity import service as identity
from tests.builders import make_entry, make_org, make_user

pytestmark = pytest.mark.server


class RemoteCKAN3(RemoteCKAN):
    """ckanapi speaks to ``/api/action/``; this one uses the versioned ``/api/3/action/``."""

    base_url = "api/3/action/"


FILLERS = 7  # transport entries of the market regulator, for paging


@pytest.fixture(scope="module")
def data(live_server) -> dict[str, Any]:
    with live_server.session() as s:
        health = make_org(s, "department", code="qd-wjw", name="青岛市卫生健康委员会")
        market = make_org(s, "department", code="qd-scjgj", name="青岛市市场监督管理局")
        make_org(s, "operator", code="qd-operator", name="青岛公共数据运营有限公司")
        make_org(s, "enterprise", code="qd-some-firm", name="青岛某某科技有限公司")
        make_org(s, "bank", code="qd-bank", name="青岛某银行")
        hospitals = make_entry(
            s,
            code="QD-WJW-0001",
            title="医疗机构基本信息",
            description="全市医疗机构的名称、地址、等级",
            category="medical",
            organisation=health.code,
            tags=["医疗", "机构"],
            district="市南区",
            update_frequency="monthly",
            temporal_start="2020-01-01",
            temporal_end="2024-12-31",
            contact_name="张三",
            contact_email="data@wjw.qingdao.gov.cn",
            fields=[
                {"name": "org_name", "label": "机构名称", "type": "string"},
                {"name": "phone", "label": "联系电话", "type": "string", "personal_kind": "phone"},
            ],
        )
        make_entry(
            s,
            code="QD-WJW-0002",
            title="医保定点药店名录",
            category="medical",
            organisation=health.code,
            open_type="conditional",
            tags=["医保"],
            district="崂山区",
        )
        make_entry(
            s,
            code="QD-SCJGJ-0001",
            title="企业信用评价结果",
            category="credit",
            organisation=market.code,
            security_grade="important",
            tags=["信用", "企业"],
        )
        make_entry(
            s,
            code="QD-SCJGJ-0002",
            title="市场主体登记信息",
            category="business",
            organisation=market.code,
            open_type="conditional",
            tags=["企业"],
        )
        for i in range(FILLERS):
            make_entry(
                s,
                code=f"QD-SCJGJ-1{i:03d}",
                title=f"道路交通流量统计{i}",
                category="transport",
                organisation=market.code,
                tags=["交通"],
            )
        withdrawn = make_entry(s, code="QD-WJW-9999", title="已撤回的医疗目录", organisation=health.code)
        catalog.delete_entry(s, SYSTEM, withdrawn.code)

        user = make_user(s, health, roles=["department"])
        _, valid = identity.create_token(s, SYSTEM, name="ok", scopes=["read"], days=30, username=user.username)
        expired_row, expired = identity.create_token(
            s, SYSTEM, name="old", scopes=["read"], days=1, username=user.username
        )
        expired_row.expires_at = utcnow() - timedelta(days=1)
        revoked_row, revoked = identity.create_token(
            s, SYSTEM, name="gone", scopes=["read"], days=30, username=user.username
        )
        identity.revoke_token(s, SYSTEM, revoked_row.id)
        return {
            "hospitals": hospitals.name,
            "hospitals_id": str(hospitals.id),
            "hospitals_code": hospitals.code,
            "withdrawn": withdrawn.name,
            "valid": valid,
            "expired": expired,
            "revoked": revoked,
            "total": 4 + FILLERS,
        }


@pytest.fixture(scope="module")
def ckan(live_server, data) -> RemoteCKAN:
    with RemoteCKAN(live_server.url) as remote:
        yield remote


@pytest.fixture(scope="module")
def ckan_get(live_server, data) -> RemoteCKAN:
    with RemoteCKAN(live_server.url, get_only=True) as remote:
        yield remote


def titles(result: dict[str, Any]) -> list[str]:
    return [p["title"] for p in result["results"]]


# --- simple actions ------------------------------------------------------------------------------


def test_status_show(ckan, live_server):
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.")
    assert status["site_url"] == live_server.url


def test_package_list_has_active_entries_only(ckan, data):
    names = ckan.action.package_list()
    assert len(names) == data["total"]
    assert names == sorted(names)
    assert data["hospitals"] in names
    assert data["withdrawn"] not in names
    assert ckan.action.package_list(limit=2, offset=1) == names[1:3]


@pytest.mark.parametrize("key", ["hospitals", "hospitals_id", "hospitals_code"])
def test_package_show_by_name_id_or_code(ckan, data, key):
    pkg = ckan.action.package_show(id=data[key], use_default_schema=True)
    assert pkg["name"] == data["hospitals"]
    assert pkg["title"] == "医疗机构基本信息"


def test_package_dict_shape(ckan, data, live_server):
    pkg = ckan.action.package_show(id=data["hospitals"])
    assert pkg["id"] == data["hospitals_id"]
    assert pkg["type"] == "dataset" and pkg["state"] == "active" and pkg["private"] is False
    assert pkg["notes"] == "全市医疗机构的名称、地址、等级"
    assert pkg["maintainer"] == "张三" and pkg["maintainer_email"] == "data@wjw.qingdao.gov.cn"
    assert pkg["author"] == "张三"
    assert pkg["license_id"] == pkg["license_title"] == "青岛市公共数据开放许可协议"
    for stamp in (pkg["metadata_created"], pkg["metadata_modified"]):
        assert datetime.fromisoformat(stamp).tzinfo is None  # CKAN writes naive UTC
    org = pkg["organization"]
    assert org["name"] == "qd-wjw" and org["title"] == "青岛市卫生健康委员会"
    assert org["type"] == "organization" and org["is_organization"] is True
    assert pkg["owner_org"] == org["id"]
    assert [(g["name"], g["title"]) for g in pkg["groups"]] == [("medical", "医疗")]
    assert sorted(t["name"] for t in pkg["tags"]) == ["医疗", "机构"]
    assert pkg["num_tags"] == 2
    assert all(t["display_name"] == t["name"] and t["state"] == "active" and t["id"] for t in pkg["tags"])
    assert pkg["num_resources"] == len(pkg["resources"]) == 1
    res = pkg["resources"][0]
    assert res["package_id"] == pkg["id"] and res["position"] == 0 and res["format"] == "CSV"
    assert res["url"] == f"{live_server.url}/api/v1/resources/{res['id']}"
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["code"] == data["hospitals_code"]
    assert extras["open_type"] == "无条件开放"
    assert extras["security_grade"] == "一般"
    assert extras["update_frequency"] == "每月"
    assert extras["spatial_coverage"] == "市南区"
    assert extras["temporal_coverage"] == "2020-01-01/2024-12-31"
    fields = json.loads(extras["fields"])
    assert [f["name"] for f in fields] == ["org_name", "phone"]
    assert fields[1]["is_personal"] is True and fields[1]["personal_kind"] == "phone"


def test_resource_show(ckan, data):
    pkg = ckan.action.package_show(id=data["hospitals"])
    res = ckan.action.resource_show(id=pkg["resources"][0]["id"])
    assert res["id"] == pkg["resources"][0]["id"]
    assert res["package_id"] == pkg["id"]
    assert res["name"] == "医疗机构基本信息"
    with pytest.raises(NotFound):
        ckan.action.resource_show(id="00000000-0000-0000-0000-000000000000")


def test_package_show_missing_and_withdrawn(ckan, data):
    with pytest.raises(NotFound):
        ckan.action.package_show(id="no-such-entry")
    with pytest.raises(NotFound):
        ckan.action.package_show(id=data["withdrawn"])
    with pytest.raises(ValidationError) as err:
        ckan.action.package_show()
    assert "id" in err.value.error_dict


# --- organizations, groups, tags -----------------------------------------------------------------


def test_organization_list_lists_publishers_only(ckan, data):
    names = ckan.action.organization_list()
    assert {"qd-wjw", "qd-scjgj", "qd-operator"} <= set(names)
    assert "qd-some-firm" not in names and "qd-bank" not in names
    # the builders make a spare department per entry: publishers all, whether they publish yet or not
    assert all(n.startswith(("qd-", "org-department-")) for n in names)
    full = ckan.action.organization_list(all_fields=True, sort="package_count desc")
    assert [(o["name"], o["package_count"]) for o in full[:2]] == [("qd-scjgj", 2 + FILLERS), ("qd-wjw", 2)]
    assert {o["name"]: o["package_count"] for o in full}["qd-operator"] == 0
    assert all(o["is_organization"] and o["type"] == "organization" for o in full)
    by_name = ckan.action.organization_list(sort="name asc", limit=2, offset=1)
    assert by_name == sorted(names)[1:3]
    titles_desc = [o["title"] for o in ckan.action.organization_list(all_fields=True, sort="title desc")]
    assert titles_desc == sorted(titles_desc, reverse=True)
    assert ckan.action.organization_list(organizations=["qd-wjw", "qd-bank"]) == ["qd-wjw"]
    with pytest.raises(ValidationError) as err:
        ckan.action.organization_list(sort="popularity")
    assert "sort" in err.value.error_dict


def test_organization_show(ckan):
    org = ckan.action.organization_show(id="qd-wjw", include_datasets=True)
    assert org["title"] == "青岛市卫生健康委员会"
    assert org["package_count"] == 2
    assert sorted(p["title"] for p in org["packages"]) == ["医保定点药店名录", "医疗机构基本信息"]
    assert "packages" not in ckan.action.organization_show(id=org["id"])
    with pytest.raises(NotFound):
        ckan.action.organization_show(id="qd-some-firm")  # an enterprise is not a publisher
    with pytest.raises(NotFound):
        ckan.action.organization_show(id="nobody")


def test_group_list_is_the_19_categories(ckan):
    names = ckan.action.group_list()
    assert len(names) == 19 and "medical" in names and "credit" in names
    groups = {g["name"]: g for g in ckan.action.group_list(all_fields=True)}
    assert groups["medical"]["title"] == "医疗" and groups["medical"]["package_count"] == 2
    assert groups["transport"]["package_count"] == FILLERS
    assert groups["ocean"]["package_count"] == 0
    top = ckan.action.group_list(sort="package_count desc", limit=2)
    assert top == ["transport", "medical"]


@pytest.mark.parametrize("key", ["medical", "医疗"])
def test_group_show_by_code_or_label(ckan, key):
    group = ckan.action.group_show(id=key, include_datasets=True)
    assert group["name"] == "medical" and group["title"] == "医疗"
    assert group["package_count"] == 2 and len(group["packages"]) == 2
    assert group["is_organization"] is False


def test_group_show_unknown(ckan):
    with pytest.raises(NotFound):
        ckan.action.group_show(id="astrology")


def test_tag_list(ckan):
    tags = ckan.action.tag_list()
    assert {"医疗", "医保", "企业", "信用", "交通"} <= set(tags)
    assert ckan.action.tag_list(query="医") == ["医保", "医疗"]
    full = ckan.action.tag_list(query="信用", all_fields=True)
    assert [t["name"] for t in full] == ["信用"] and full[0]["id"]


def test_help_show(ckan):
    assert "fq" in ckan.action.help_show(name="package_search")


# --- package_search ------------------------------------------------------------------------------


def test_search_everything(ckan, data):
    result = ckan.action.package_search()
    assert result["count"] == data["total"]
    assert len(result["results"]) == 10  # CKAN's default rows
    assert result["sort"] == "score desc, metadata_modified desc"
    assert result["facets"] == {} and result["search_facets"] == {}
    assert ckan.action.package_search(q="*:*")["count"] == data["total"]


def test_search_chinese_words(ckan):
    medical = ckan.action.package_search(q="医疗")
    assert medical["count"] >= 1
    assert medical["results"][0]["title"] == "医疗机构基本信息"  # the title match ranks first
    assert "已撤回的医疗目录" not in titles(medical)
    credit = ckan.action.package_search(q="企业信用")
    assert titles(credit)[0] == "企业信用评价结果"
    assert "道路交通流量统计0" not in titles(credit)
    assert ckan.action.package_search(q="不存在的词语组合xyz")["count"] == 0


@pytest.mark.parametrize(
    ("fq", "expected"),
    [
        ("organization:qd-wjw", {"医疗机构基本信息", "医保定点药店名录"}),
        ('groups:"医疗"', {"医疗机构基本信息", "医保定点药店名录"}),
        ("groups:credit", {"企业信用评价结果"}),
        ("tags:企业", {"企业信用评价结果", "市场主体登记信息"}),
        ("tags:企业 AND tags:信用", {"企业信用评价结果"}),
        ("open_type:有条件开放", {"医保定点药店名录", "市场主体登记信息"}),
        ("+open_type:conditional +organization:qd-scjgj", {"市场主体登记信息"}),
        ("security_grade:重要", {"企业信用评价结果"}),
        ("district:崂山区", {"医保定点药店名录"}),
        ("update_frequency:每月", {"医疗机构基本信息"}),
        ("category:medical open_type:(unconditional OR conditional)", {"医疗机构基本信息", "医保定点药店名录"}),
        ("organization:qd-wjw AND organization:qd-scjgj", set()),
        ("+dataset_type:dataset tags:医保", {"医保定点药店名录"}),
        ("dataset_type:harvest", set()),
    ],
)
def test_search_fq(ckan, fq, expected):
    result = ckan.action.package_search(fq=fq, rows=100)
    assert set(titles(result)) == expected
    assert result["count"] == len(expected)


def test_search_q_and_fq_together(ckan):
    result = ckan.action.package_search(q="医疗", fq="open_type:conditional")
    assert titles(result) == ["医保定点药店名录"]
    in_q = ckan.action.package_search(q="organization:qd-wjw 医保")
    assert titles(in_q) == ["医保定点药店名录"]


def test_search_facets(ckan):
    result = ckan.call_action(
        "package_search",
        {"q": "", "facet.field": json.dumps(["organization", "groups", "tags", "open_type"]), "rows": 0},
    )
    assert result["results"] == []
    assert result["facets"]["organization"] == {"qd-scjgj": 2 + FILLERS, "qd-wjw": 2}
    assert result["facets"]["groups"]["medical"] == 2
    assert result["facets"]["open_type"] == {"unconditional": 2 + FILLERS, "conditional": 2}
    org_items = result["search_facets"]["organization"]
    assert org_items["title"] == "organization"
    assert org_items["items"][0] == {"name": "qd-scjgj", "display_name": "青岛市市场监督管理局", "count": 9}
    groups = {i["name"]: i for i in result["search_facets"]["groups"]["items"]}
    assert groups["medical"]["display_name"] == "医疗"
    tags = {i["name"]: i["count"] for i in result["search_facets"]["tags"]["items"]}
    assert tags["企业"] == 2 and tags["交通"] == FILLERS


def test_search_facet_limit_and_filtered_counts(ckan):
    result = ckan.call_action(
        "package_search", {"fq": "organization:qd-wjw", "facet.field": ["groups", "district"], "facet.limit": 1}
    )
    assert result["facets"]["groups"] == {"medical": 2}
    assert len(result["search_facets"]["district"]["items"]) == 1


def test_search_paging(ckan, data):
    seen: list[str] = []
    for start in range(0, data["total"], 3):
        page = ckan.action.package_search(rows=3, start=start, sort="name asc")
        assert page["count"] == data["total"]
        seen += [p["name"] for p in page["results"]]
    assert len(seen) == data["total"] == len(set(seen))
    assert ckan.action.package_search(rows=3, start=data["total"])["results"] == []


def test_search_sort(ckan):
    asc = titles(ckan.action.package_search(sort="title_string asc", rows=100))
    assert asc == sorted(asc)
    desc = ckan.action.package_search(sort="title_string desc", rows=100)
    assert titles(desc) == sorted(asc, reverse=True)
    assert desc["sort"] == "title_string desc"
    oldest_first = ckan.action.package_search(sort="metadata_modified asc", rows=100)["results"]
    stamps = [p["metadata_modified"] for p in oldest_first]
    assert stamps == sorted(stamps) and stamps[0] != stamps[-1]
    newest_first = ckan.action.package_search(sort="metadata_created desc", rows=100)["results"]
    assert [p["metadata_created"] for p in newest_first] == sorted(
        (p["metadata_created"] for p in oldest_first), reverse=True
    )


@pytest.mark.parametrize(
    "params",
    [
        {"fq": "organization"},
        {"fq": 'groups:"医疗'},
        {"fq": "-organization:qd-wjw"},
        {"fq": "res_format:CSV"},
        {"fq": "open_type:半开放"},
        {"sort": "popularity desc"},
        {"sort": "title_string sideways"},
        {"q": "flavour:vanilla"},
        {"facet.field": '["license_id"]'},
    ],
)
def test_search_bad_query_is_search_query_error(ckan, params):
    with pytest.raises(SearchQueryError):
        ckan.call_action("package_search", params)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"rows": "abc"}, "rows"),
        ({"rows": 5000}, "rows"),
        ({"rows": -1}, "rows"),
        ({"start": "x"}, "start"),
        ({"start": -5}, "start"),
        ({"facet.field": "[not json"}, "facet.field"),
    ],
)
def test_search_bad_parameter_is_validation_error(ckan, params, field):
    with pytest.raises(ValidationError) as err:
        ckan.call_action("package_search", params)
    assert err.value.error_dict["__type"] == "Validation Error"
    assert field in err.value.error_dict


# --- GET, POST, aliases ----------------------------------------------------------------------


def test_get_requests_through_ckanapi(ckan_get, data):
    assert ckan_get.action.package_show(id=data["hospitals"])["title"] == "医疗机构基本信息"
    result = ckan_get.call_action(
        "package_search", {"q": "医疗", "fq": "organization:qd-wjw", "facet.field": ["groups"], "rows": 1}
    )
    assert result["count"] == 2 and len(result["results"]) == 1
    assert result["facets"]["groups"] == {"medical": 2}
    with pytest.raises(ValidationError):
        ckan_get.call_action("package_search", {"rows": "abc"})


def test_versioned_path(live_server, data):
    with RemoteCKAN3(live_server.url) as remote:
        assert remote.action.package_show(id=data["hospitals"])["name"] == data["hospitals"]
        assert len(remote.action.group_list()) == 19


@pytest.mark.parametrize("prefix", ["/api/3/action/", "/api/action/"])
def test_envelope_over_plain_http(live_server, data, prefix):
    url = live_server.url + prefix
    r = httpx.get(url + "package_search", params={"q": "医疗", "facet.field": '["organization"]'})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["help"] == f"{live_server.url}/api/3/action/help_show?name=package_search"
    assert body["result"]["facets"]["organization"]["qd-wjw"] == 2
    form = httpx.post(url + "package_show", data={"id": data["hospitals"]})
    assert form.status_code == 200 and form.json()["result"]["name"] == data["hospitals"]
    posted = httpx.post(url + "package_search", json={"fq": "tags:医保", "rows": 5})
    assert [p["title"] for p in posted.json()["result"]["results"]] == ["医保定点药店名录"]


@pytest.mark.parametrize("prefix", ["/api/3/action/", "/api/action/"])
def test_error_envelopes_and_status_codes(live_server, prefix):
    url = live_server.url + prefix
    missing = httpx.get(url + "package_show", params={"id": "nope"})
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    assert missing.json()["error"]["__type"] == "Not Found Error"
    assert missing.json()["help"].endswith("help_show?name=package_show")

    rows = httpx.get(url + "package_search", params={"rows": "abc"})
    assert rows.status_code == 409
    assert rows.json()["error"]["__type"] == "Validation Error"
    assert isinstance(rows.json()["error"]["rows"], list)

    too_many = httpx.post(url + "package_search", json={"rows": 5000})
    assert too_many.status_code == 409 and "rows" in too_many.json()["error"]

    bad_fq = httpx.get(url + "package_search", params={"fq": "organization"})
    assert bad_fq.status_code == 400
    assert bad_fq.json()["error"]["__type"] == "Search Query Error"

    unknown = httpx.get(url + "package_explode")
    assert unknown.status_code == 400
    assert unknown.json() == "Bad request - Action name not known: package_explode"

    broken = httpx.post(url + "package_search", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json().startswith("Bad request - JSON Error")
    not_object = httpx.post(url + "package_search", json=[1, 2])
    assert not_object.status_code == 400


def test_unknown_action_through_ckanapi(ckan):
    with pytest.raises(CKANAPIError) as err:
        ckan.call_action("package_explode")
    assert "Action name not known" in str(err.value)


# --- tokens --------------------------------------------------------------------------------------


def test_valid_token_through_ckanapi(live_server, data):
    with RemoteCKAN(live_server.url, apikey=data["valid"]) as remote:
        assert remote.action.package_show(id=data["hospitals"])["name"] == data["hospitals"]


@pytest.mark.parametrize(
    "headers",
    [
        lambda t: {"X-CKAN-API-Key": t},
        lambda t: {"Authorization": t},
        lambda t: {"Authorization": f"Bearer {t}"},
    ],
)
def test_valid_token_in_either_header(live_server, data, headers):
    r = httpx.get(live_server.url + "/api/3/action/package_list", headers=headers(data["valid"]))
    assert r.status_code == 200 and r.json()["success"] is True


@pytest.mark.parametrize("which", ["expired", "revoked", "garbage"])
def test_bad_token_is_refused_through_ckanapi(live_server, data, which):
    token = data.get(which, "pd_this-is-not-a-token")
    with RemoteCKAN(live_server.url, apikey=token) as remote, pytest.raises(NotAuthorized):
        remote.action.package_list()


@pytest.mark.parametrize("which", ["expired", "revoked", "garbage"])
@pytest.mark.parametrize("header", ["X-CKAN-API-Key", "Authorization"])
def test_bad_token_in_either_header_is_403(live_server, data, which, header):
    token = data.get(which, "pd_this-is-not-a-token")
    r = httpx.get(live_server.url + "/api/action/package_search", params={"q": "医疗"}, headers={header: token})
    assert r.status_code == 403
    body = r.json()
    assert body["success"] is False and "result" not in body
    assert body["error"]["__type"] == "Authorization Error"
    assert body["error"]["message"]


def test_huge_numbers_are_clean_errors_not_500(ckan):
    with pytest.raises(NotFound):
        ckan.action.package_show(id="99999999999")
    with pytest.raises(NotFound):
        ckan.action.organization_show(id="99999999999")
    for params in ({"start": 10**20}, {"facet.field": ["tags"], "facet.limit": 10**20}):
        with pytest.raises(ValidationError):
            ckan.call_action("package_search", params)
