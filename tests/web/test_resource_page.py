"""The resource page: schema, row preview with search, filter and cursor paging, downloads, and
the notice instead of rows for data the viewer may not read."""

from __future__ import annotations

import re

import pytest

from tests.store.rows_fixture import CODES, load_table


@pytest.fixture
def loaded(session, as_actor, settings, tmp_path):
    return load_table(session, as_actor("department"), settings.home, tmp_path)


def cells(html: str) -> list[list[str]]:
    body = html.split('id="rows-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_preview_shows_rows_schema_downloads_and_api(client, loaded):
    r = client.get(f"/dataset/{loaded.entry_name}/resource/{loaded.resource_id}")
    assert r.status_code == 200
    html = r.text
    assert "共 40 行" in html and "版本 v1" in html
    rows = cells(html)
    assert len(rows) == 20 and rows[0][1] == CODES[0]
    assert "统一社会信用代码" in html.split('id="resource-schema"', 1)[1]
    assert f"/api/v1/resources/{loaded.resource_id}/download.csv" in html
    assert "datastore_search?resource_id=" in html


def test_search_filter_and_next_page(client, loaded):
    url = f"/dataset/{loaded.entry_name}/resource/{loaded.resource_id}"
    html = client.get(url, params={"q": "海洋", "f": "district", "op": "eq", "v": "市北区"}).text
    assert "共 10 行符合条件" in html
    assert {row[3] for row in cells(html)} == {"市北区"}
    first = client.get(url).text
    next_url = re.search(r'id="rows-next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    partial = client.get(next_url, headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="rows">')  # only the region is swapped
    assert [row[0] for row in cells(partial.text)][:2] == ["21", "22"]


def test_bad_filter_value_is_explained(client, loaded):
    html = client.get(
        f"/dataset/{loaded.entry_name}/resource/{loaded.resource_id}", params={"f": "staff", "op": "gt", "v": "很多"}
    ).text
    assert "字段 staff 的取值应为整数" in html


def test_conditional_rows_show_a_notice_not_data(client, session, as_actor, settings, tmp_path):
    loaded = load_table(session, as_actor("department"), settings.home, tmp_path, open_type="conditional")
    html = client.get(f"/dataset/{loaded.entry_name}/resource/{loaded.resource_id}").text
    assert 'id="rows-forbidden"' in html and "有条件开放" in html
    assert CODES[0] not in html and "download.csv" not in html


def test_resource_of_another_entry_is_404(client, session, as_actor, settings, tmp_path):
    a = load_table(session, as_actor("department"), settings.home, tmp_path)
    b = load_table(session, as_actor("department"), settings.home, tmp_path)
    assert client.get(f"/dataset/{a.entry_name}/resource/{b.resource_id}").status_code == 404
