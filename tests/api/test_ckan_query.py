"""The CKAN layer's own parsing (fq, q, sort, parameters) and its error rendering, without a server."""

from __future__ import annotations

import json

import pytest
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from pubdata.api.ckan import routes
from pubdata.api.ckan.errors import SearchQueryError, ValidationError
from pubdata.api.ckan.params import Params
from pubdata.api.ckan.query import Filters, add_clauses, facet_name, parse_fq, parse_sort, split_q
from pubdata.catalog.errors import DuplicateEntryCode, EntryNotFound, InvalidEntry, NotEntryOwner
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound, PubdataError, RateLimited, Unauthenticated
from pubdata.identity.errors import InvalidToken


def filters_of(fq: str) -> Filters:
    f = Filters()
    add_clauses(f, parse_fq(fq))
    return f


@pytest.mark.parametrize(
    ("fq", "clauses"),
    [
        ("organization:qd-wjw", [("organization", ["qd-wjw"])]),
        ('groups:"医疗"', [("groups", ["医疗"])]),
        ('tags:"two words"', [("tags", ["two words"])]),
        (r"tags:two\ words", [("tags", ["two words"])]),
        ("+a:1 +b:2", [("a", ["1"]), ("b", ["2"])]),
        ("a:1 AND b:2 && c:3", [("a", ["1"]), ("b", ["2"]), ("c", ["3"])]),
        ('a:(x OR "y z")', [("a", ["x", "y z"])]),
        ("*:*", []),
        ("", []),
    ],
)
def test_parse_fq(fq, clauses):
    assert parse_fq(fq) == clauses


@pytest.mark.parametrize(
    "fq", ["organization", "a:", 'a:"open', "a:(x y)", "a:(x OR", "-a:b", "NOT a:b", "a:1 OR b:2", "a:()"]
)
def test_parse_fq_refuses_what_it_cannot_read(fq):
    with pytest.raises(SearchQueryError):
        parse_fq(fq)


def test_fields_map_to_service_filters_and_labels_resolve():
    f = filters_of("organization:qd-wjw groups:医疗 open_type:有条件开放 security_grade:core district:370212")
    assert f.values == {
        "organisation": ["qd-wjw"],
        "category": ["medical"],
        "open_type": ["conditional"],
        "security_grade": ["core"],
        "district": ["崂山区"],
    }
    assert not f.impossible


def test_repeated_clauses_are_anded():
    assert filters_of("tags:a tags:b").values == {"tags": ["a", "b"]}
    both = filters_of("open_type:(unconditional OR conditional) open_type:conditional")
    assert both.values["open_type"] == ["conditional"] and not both.impossible
    assert filters_of("organization:a organization:b").impossible
    assert filters_of("type:harvest").impossible
    assert not filters_of("dataset_type:dataset capacity:public").impossible


@pytest.mark.parametrize("fq", ["res_format:CSV", "name:x", "open_type:半开放", "groups:astrology", "tags:(a OR b)"])
def test_unsupported_fields_and_values_are_search_query_errors(fq):
    with pytest.raises(SearchQueryError):
        add_clauses(Filters(), parse_fq(fq))


def test_split_q():
    f = Filters()
    assert split_q("*:*", f) == ""
    assert split_q("医疗 机构", f) == "医疗 机构"
    assert split_q("title:信用 tags:企业 评价", f) == "信用 评价"
    assert f.values == {"tags": ["企业"]}
    assert split_q("see http://example.org", Filters()) == "see http://example.org"
    with pytest.raises(SearchQueryError):
        split_q("flavour:vanilla", Filters())


@pytest.mark.parametrize(
    ("sort", "name"),
    [
        ("", ""),
        ("score desc, metadata_modified desc", "relevance"),
        ("metadata_modified desc", "modified_desc"),
        ("metadata_modified asc", "modified_asc"),
        ("metadata_created desc", "created_desc"),
        ("title_string asc", "title_asc"),
        ("title_string desc", "title_desc"),
        ("name asc", "code_asc"),
        ("name", "code_asc"),
    ],
)
def test_parse_sort(sort, name):
    assert parse_sort(sort) == name


@pytest.mark.parametrize("sort", ["views_recent desc", "title_string up", "score asc", "name asc extra"])
def test_parse_sort_refuses_unknown(sort):
    with pytest.raises(SearchQueryError):
        parse_sort(sort)


def test_facet_names():
    assert [facet_name(f) for f in ("organization", "groups", "tags", "district")] == [
        "organisation",
        "category",
        "tags",
        "district",
    ]
    with pytest.raises(SearchQueryError):
        facet_name("res_format")


def test_params_read_strings_json_and_lists():
    p = Params({"rows": "20", "n": 5, "b": "True", "j": '["a", "b"]', "l": ["x", "y"], "s": "one"})
    assert p.integer("rows", 10) == 20 and p.integer("n", 0) == 5 and p.integer("missing", 7) == 7
    assert p.boolean("b") is True and p.boolean("missing", True) is True
    assert p.string_list("j") == ["a", "b"] and p.string_list("l") == ["x", "y"] and p.string_list("s") == ["one"]
    for bad in ({"rows": "abc"}, {"rows": True}, {"rows": "2000"}):
        with pytest.raises(ValidationError) as err:
            Params(bad).integer("rows", 10, maximum=1000)
        assert list(err.value.errors) == ["rows"]
    with pytest.raises(ValidationError):
        Params({"b": "maybe"}).boolean("b")
    with pytest.raises(ValidationError):
        Params({"j": "[oops"}).string_list("j")


# --- error rendering -----------------------------------------------------------------------------


def body(response) -> dict:
    return json.loads(response.body)


@pytest.mark.parametrize(
    ("exc", "status", "ckan_type"),
    [
        (NotFound("x"), 404, "Not Found Error"),
        (EntryNotFound("x"), 404, "Not Found Error"),
        (Forbidden("x"), 403, "Authorization Error"),
        (NotEntryOwner("x"), 403, "Authorization Error"),
        (Unauthenticated("x"), 403, "Authorization Error"),
        (InvalidToken("API 令牌已过期"), 403, "Authorization Error"),
        (Invalid("x", field="title"), 409, "Validation Error"),
        (InvalidEntry("x"), 409, "Validation Error"),
        (Conflict("x"), 409, "Validation Error"),
        (DuplicateEntryCode("x", details=[{"field": "code", "message": "already exists"}]), 409, "Validation Error"),
        (RateLimited("慢一点", retry_after=7), 429, "Rate Limit Error"),
        (PubdataError("boom"), 500, "Internal Server Error"),
    ],
)
def test_every_domain_error_gets_ckans_type_and_status(exc, status, ckan_type):
    response = routes.error_response(exc)
    assert response.status_code == status
    payload = body(response)
    assert payload["success"] is False and "help" in payload
    assert payload["error"]["__type"] == ckan_type


def test_validation_errors_key_messages_by_field():
    error = body(routes.error_response(Invalid("标题太短", field="title")))["error"]
    assert error == {"__type": "Validation Error", "title": ["标题太短"]}
    dup = DuplicateEntryCode("数据目录编码已存在：X", details=[{"field": "code", "message": "already exists"}])
    assert body(routes.error_response(dup))["error"]["code"] == ["数据目录编码已存在：X"]
    assert body(routes.error_response(Conflict("冲突")))["error"]["message"] == "冲突"


def test_rate_limited_sends_retry_after():
    response = routes.error_response(RateLimited("慢一点", retry_after=7))
    assert response.headers["Retry-After"] == "7"


def test_request_validation_and_http_errors():
    exc = RequestValidationError([{"loc": ("query", "rows"), "msg": "bad", "type": "int_parsing"}])
    response = routes.validation_error_response(exc)
    assert response.status_code == 409 and body(response)["error"]["rows"] == ["应为整数"]  # in Chinese, by type
    missing = routes.http_error_response(HTTPException(404, "Not Found"))
    assert missing.status_code == 404 and body(missing)["error"]["__type"] == "Not Found Error"
    wrong_method = routes.http_error_response(HTTPException(405, "Method Not Allowed"))
    assert wrong_method.status_code == 400 and body(wrong_method).startswith("Bad request")
