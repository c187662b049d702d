import httpx


def test_live_server_answers(live_server):
    r = httpx.get(live_server.url + "/api/v1/vocabularies")
    assert r.status_code == 200
    assert len(r.json()["categories"]) == 19
