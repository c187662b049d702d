"""What users read is Chinese: audit actions, field types, revision attributes and the details of
rejected parameters (issue 11 §6)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

from pubdata.api.errors import pydantic_message
from pubdata.assets.registry.service import ACTIONS as REGISTRY_ACTIONS
from pubdata.assets.trusts.service import ACTIONS as TRUST_ACTIONS
from pubdata.assets.valuation.service import ACTIONS as APPRAISAL_ACTIONS
from pubdata.audit import service as audit
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import EntryUpdate, ResourceIn
from pubdata.finance.loans.schemas import STATES as LOAN_STATES
from pubdata.market.orders import ACTIONS as ORDER_ACTIONS
from pubdata.market.service import ACTIONS as MARKET_ACTIONS
from pubdata.policy.applications.workflow import ACTION_LABELS as POLICY_STEPS
from pubdata.store.query.export import FORMATS
from pubdata.web.audit_pages import AUDIT_ACTIONS
from pubdata.web.catalog_pages import ATTRIBUTE_LABELS
from tests import builders
from tests.web.helpers import login

SRC = Path(__file__).resolve().parents[2] / "src" / "pubdata"

# Calls that take the audit action, and the position it is passed at.
ACTION_ARGUMENT = {
    "Event": 0,  # audit.Event(action, ...)
    "_event": 0,  # access.service._event(action, ...)
    "refusals_audited": 0,  # decorators recording refused attempts
    "_refusals_audited": 0,
    "record_read": 3,  # store.read.record_read(session, actor, plan, action, ...)
    "take_rows": 3,
    "audit_event": 0,  # store.read.ReadPlan.audit_event(action, ...)
}
# Actions built with an f-string: prefix → every value the placeholder takes.
EXPANSIONS = {
    "policy.": list(POLICY_STEPS),  # applications.record_step(..., action, ...)
    "access.": ["approve", "narrow"],  # access.service.review_access
    "download.": list(FORMATS),  # store.export
    "loan.": list(LOAN_STATES),  # finance.loans.service._event: the state an application moved to
    "loan.product_": ["published", "withdrawn"],  # finance.loans.service.set_product_state
    "registry.": list(REGISTRY_ACTIONS),  # assets.registry.service._event / _move
    "asset_trust.": list(TRUST_ACTIONS),  # assets.trusts.service._event
    "appraisal.": list(APPRAISAL_ACTIONS),  # assets.valuation.service._event
    "market.": list(MARKET_ACTIONS)  # market.service._event / _move
    + [a.removeprefix("market.") for a in ORDER_ACTIONS],  # market.orders._event
}


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _actions(node: ast.expr, where: str) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _actions(node.body, where) + _actions(node.orelse, where)
    if isinstance(node, ast.JoinedStr):
        head = node.values[0]
        prefix = head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else ""
        assert len(node.values) == 2 and prefix in EXPANSIONS, f"{where}: add this f-string action to EXPANSIONS"
        return [prefix + tail for tail in EXPANSIONS[prefix]]
    return []  # a variable forwarded from one of the literal call sites


def recorded_actions() -> dict[str, str]:
    """Every action string the source hands to the audit trail → where it is."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _call_name(node) in ACTION_ARGUMENT:
                i = ACTION_ARGUMENT[_call_name(node)]
                where = f"{path.relative_to(SRC)}:{node.lineno}"
                if len(node.args) > i:
                    for action in _actions(node.args[i], where):
                        if re.fullmatch(r"[a-z_]+\.[a-z_]+", action):
                            found.setdefault(action, where)
    return found


def test_every_recorded_audit_action_has_a_chinese_label():
    found = recorded_actions()
    # the scan sees the call sites the issue names, so an empty scan cannot pass
    for action in ("facts.read", "policy.match", "sql.read", "sql.query", "rejects.read", "auth.login"):
        assert action in found
    for action in ("sandbox.query", "datastore.info", "download.parquet", "policy.disburse", "access.narrow"):
        assert action in found
    missing = {a: where for a, where in found.items() if a not in AUDIT_ACTIONS}
    assert not missing, f"audit actions without a label in web/audit_pages.py AUDIT_ACTIONS: {missing}"
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in AUDIT_ACTIONS.values())


def test_the_audit_viewer_shows_labels_and_filters_by_every_action(client, session, as_actor):
    regulator = as_actor("regulator")
    for action in ("facts.read", "policy.match", "auth.login", "datastore.info"):
        audit.record(session, regulator, audit.Event(action))
    client.cookies.clear()
    assert login(client, regulator.username).status_code == 303
    html = client.get("/audit").text
    cells = re.findall(r'<td title="([a-z_.]+)">([^<]*)</td>', html)
    shown = dict(cells)
    assert shown["facts.read"] == "查看企业事实" and shown["policy.match"] == "政策匹配"
    assert shown["auth.login"] == "登录" and shown["datastore.info"] == "查看数据表信息"
    options = re.search(r'<select name="action">(.*?)</select>', html, re.S).group(1)
    listed = dict(re.findall(r'<option value="([a-z_.]+)"[^>]*>([^<]*)</option>', options))
    assert listed == AUDIT_ACTIONS
    assert set(recorded_actions()) <= set(listed)
    only = client.get("/audit", params={"action": "facts.read"}).text
    assert only.count('<tr class="audit-') == 1 and '<option value="facts.read" selected>查看企业事实' in only


def test_entry_page_shows_field_types_like_the_table_page(client, session):
    entry = builders.make_entry(
        session,
        fields=[
            {"name": "name", "label": "名称", "type": "string"},
            {"name": "amount", "label": "金额", "type": "number"},
            {"name": "day", "label": "日期", "type": "date"},
        ],
    )
    table = re.search(r'id="entry-fields">(.*?)</table>', client.get(f"/dataset/{entry.name}").text, re.S).group(1)
    types = re.findall(r'<td title="(\w+)">([^<]*)</td>', table)
    assert types == [("string", "文本"), ("number", "数值"), ("date", "日期")]


def test_revision_history_names_every_attribute_in_chinese(client, session, as_actor):
    operator = as_actor("operator")
    entry = builders.make_entry(session, tags=["医院"])
    catalog.add_resource(session, operator, entry.name, ResourceIn(name="登记表"))
    catalog.update_entry(session, operator, entry.name, EntryUpdate(tags=[]))
    html = client.get(f"/dataset/{entry.name}").text
    history = re.search(r'id="entry-revisions">(.*?)</ol>', html, re.S).group(1)
    names = re.findall(r'<span class="change-name">([^<]*)</span>', history)
    assert "数据资源" in names and "resources" not in history
    assert "新增数据资源“登记表”" in history
    assert re.search(r'<span class="change-old">医院</span> → <span class="change-new">（无）</span>', history)
    # every attribute a revision can record has a label
    recorded = {*catalog.SCALAR_ATTRS, "organisation", "tags", "fields", "state", "resources"}
    assert recorded <= set(ATTRIBUTE_LABELS)


class _Body(BaseModel):
    name: str = Field(max_length=3)
    count: int = Field(ge=1, le=10)
    kind: str = Field(pattern="^[a-z]+$")
    items: list[int] = Field(default_factory=list, max_length=2)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"count": 1, "kind": "a"}, "必须提供"),
        ({"name": "abcd", "count": 1, "kind": "a"}, "最多 3 个字符"),
        ({"name": "a", "count": "x", "kind": "a"}, "应为整数"),
        ({"name": "a", "count": 0, "kind": "a"}, "不能小于 1"),
        ({"name": "a", "count": 11, "kind": "a"}, "不能大于 10"),
        ({"name": "a", "count": 1, "kind": "A"}, "格式不符合要求"),
        ({"name": "a", "count": 1, "kind": "a", "items": [1, 2, 3]}, "最多 2 项"),
        ({"name": 5, "count": 1, "kind": "a"}, "应为字符串"),
    ],
)
def test_pydantic_errors_read_in_chinese(data, says):
    with pytest.raises(ValidationError) as caught:
        _Body.model_validate(data)
    assert says in pydantic_message(caught.value.errors()[0])


def test_api_422_details_are_chinese_and_keep_the_type(client, as_actor, token_for):
    headers = {"Authorization": f"Bearer {token_for(as_actor('department'))}"}
    r = client.post("/api/v1/entries", headers=headers)  # no body at all
    error = r.json()["error"]
    assert r.status_code == 422 and error["message"] == "输入无效：请求体：必须提供"
    assert error["details"][0]["type"] == "missing"
    r = client.get("/api/v1/entries", params={"limit": "many"})
    error = r.json()["error"]
    assert r.status_code == 422 and error["message"] == "输入无效：limit：应为整数"
    assert error["details"][0] == {"field": "limit", "message": "应为整数", "type": "int_parsing"}
    r = client.get("/api/v1/entries", params={"limit": "5000"})
    assert r.json()["error"]["message"] == "输入无效：limit：不能大于 1000"
    assert not re.search(r"[A-Z][a-z]+ [a-z]+", r.json()["error"]["message"])  # no English sentence


def test_the_portal_names_the_bad_parameter_and_why(client):
    r = client.get("/access/requests/abc")  # an integer path parameter
    assert r.status_code == 422
    assert "参数 request_id 无效：应为整数" in r.text and "Input should" not in r.text
