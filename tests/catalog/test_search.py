from pubdata.catalog import service
from pubdata.catalog.service import SearchQuery
from tests.builders import make_entry


def titles(result):
    return [e.title for e in result.entries]


def test_chinese_words_find_entries_whose_titles_contain_them(session, as_actor):
    anon = as_actor("anonymous")
    make_entry(session, title="医疗机构执业许可信息", category="medical")
    make_entry(session, title="企业信用评价结果", category="credit")
    make_entry(session, title="公交线路站点信息", category="transport")

    med = service.search_entries(session, anon, SearchQuery(q="医疗"))
    assert titles(med) == ["医疗机构执业许可信息"]
    credit = service.search_entries(session, anon, SearchQuery(q="企业信用"))
    assert titles(credit) == ["企业信用评价结果"]
    assert service.search_entries(session, anon, SearchQuery(q="港口航运")).count == 0


def test_every_query_word_must_match_and_title_ranks_above_description(session, as_actor):
    anon = as_actor("anonymous")
    make_entry(session, title="学校名录", description="全市医疗卫生学校的名录")
    make_entry(session, title="医疗卫生机构名录", description="机构基本信息")
    result = service.search_entries(session, anon, SearchQuery(q="医疗 名录"))
    assert titles(result) == ["医疗卫生机构名录", "学校名录"]
    assert result.scores[0] > result.scores[1]


def test_facets_count_the_matching_entries(session, as_actor):
    anon = as_actor("anonymous")
    make_entry(session, title="海洋渔业捕捞统计", category="ocean", district="黄岛区", tags=["渔业"])
    make_entry(session, title="海洋环境监测数据", category="environment", district="黄岛区", tags=["监测"])
    make_entry(session, title="海洋牧场名录", category="ocean", district="即墨区", tags=["渔业"])
    r = service.search_entries(session, anon, SearchQuery(q="海洋", filters={"category": ["海洋"]}))
    assert r.count == 2
    assert ("ocean", "海洋", 2) in r.facets["category"]
    assert dict((v, n) for v, _, n in r.facets["district"]) == {"黄岛区": 1, "即墨区": 1}
    assert r.facets["tags"][0] == ("渔业", "渔业", 2)
