"""Links follow the address the server listens on (``--port``/``--host``) unless ``PUBDATA_BASE_URL``
is set, and the CKAN and DCAT surfaces accept a raw UTF-8 query string from a real HTTP client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT
from typer.testing import CliRunner

from pubdata.app import create_app
from pubdata.catalog import dcat
from pubdata.cli import app as cli_app
from pubdata.db import forget_engine, get_engine
from pubdata.server import Utf8TargetH11Protocol
from pubdata.settings import Settings, get_settings
from tests.builders import make_entry
from tests.conftest import database_url
from tests.live import LiveServer, _free_port
from tests.store.rows_fixture import load_table

BASE = "http://127.0.0.1:8101"


def test_base_url_follows_host_and_port_unless_set(monkeypatch):  # noqa: ANN001
    monkeypatch.delenv("PUBDATA_BASE_URL", raising=False)
    assert Settings().resolved_base_url == "http://127.0.0.1:8000"
    assert Settings(port=8101).resolved_base_url == BASE
    assert Settings(host="0.0.0.0", port=8101).resolved_base_url == BASE  # a wildcard is no address
    assert Settings(host="::", port=8101).resolved_base_url == BASE
    assert Settings(host="::1", port=8101).resolved_base_url == "http://[::1]:8101"
    assert Settings(host="data.local", port=8101).resolved_base_url == "http://data.local:8101"
    assert Settings(port=8101, base_url="https://data.qingdao.example/").resolved_base_url == (
        "https://data.qingdao.example"
    )
    monkeypatch.setenv("PUBDATA_BASE_URL", "https://data.qingdao.example")
    monkeypatch.setenv("PUBDATA_PORT", "8101")
    assert Settings().resolved_base_url == "https://data.qingdao.example"
    monkeypatch.delenv("PUBDATA_BASE_URL")
    assert Settings().resolved_base_url == BASE


@pytest.fixture
def on_8101(app):  # noqa: ANN001
    """The test app as ``pubdata serve --port 8101`` configures it: no base URL set."""
    app.state.settings = app.state.settings.model_copy(update={"base_url": None, "port": 8101})
    return app


def test_port_moves_every_link(client, on_8101, session, as_actor, settings, tmp_path, monkeypatch):  # noqa: ANN001
    loaded = load_table(session, as_actor("department"), settings.home, tmp_path)
    status = client.get("/api/3/action/status_show").json()["result"]
    assert status["site_url"] == BASE
    package = client.get("/api/3/action/package_show", params={"id": loaded.entry_code}).json()["result"]
    assert package["url"].startswith(BASE + "/")
    assert package["resources"] and all(r["url"].startswith(BASE + "/") for r in package["resources"])
    found = client.get("/api/3/action/package_search", params={"q": package["title"]}).json()["result"]
    assert found["results"] and all(p["url"].startswith(BASE + "/") for p in found["results"])

    ttl = client.get(f"/dataset/{loaded.entry_code}.ttl")
    assert ttl.status_code == 200, ttl.text
    g = Graph().parse(data=ttl.content, format="turtle")
    assert (URIRef(f"{BASE}/catalog"), DCAT.dataset, URIRef(f"{BASE}/dataset/{package['name']}")) in g
    ours = {str(t) for triple in g for t in triple if isinstance(t, URIRef) and "127.0.0.1" in str(t)}
    assert len(ours) > 3 and all(t.startswith(BASE + "/") for t in ours), ours
    assert "testserver" not in ttl.text

    monkeypatch.setattr(dcat, "PAGE_SIZE", 1)
    make_entry(session)
    g = Graph().parse(data=client.get("/catalog.ttl?page=1").content, format="turtle")
    next_pages = [str(o) for o in g.objects(None, URIRef("http://www.w3.org/ns/hydra/core#nextPage"))]
    assert next_pages == [f"{BASE}/catalog.ttl?page=2"]

    datapackage = client.get(f"/api/v1/entries/{loaded.entry_code}/datapackage.json").json()
    links = [r.get("path") for r in datapackage["resources"]] + [datapackage.get("homepage")]
    assert [link for link in links if link] and all(link.startswith(BASE + "/") for link in links if link)


def test_explicit_base_url_still_wins(client, session):  # noqa: ANN001
    # the shared `settings` fixture sets base_url="http://testserver" explicitly
    assert client.get("/api/3/action/status_show").json()["result"]["site_url"] == "http://testserver"


def test_serve_options_reach_the_settings_and_uvicorn(tmp_path, monkeypatch):  # noqa: ANN001
    monkeypatch.setenv("PUBDATA_HOME", str(tmp_path))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", database_url(tmp_path, name="serve_port"))
    monkeypatch.delenv("PUBDATA_BASE_URL", raising=False)
    monkeypatch.setenv("PUBDATA_SEARCH_WARMUP", "false")
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    try:
        r = CliRunner().invoke(cli_app, ["serve", "--port", "8101", "--host", "0.0.0.0"])
        assert r.exit_code == 0, r.output
        assert (started["host"], started["port"], started["http"]) == ("0.0.0.0", 8101, Utf8TargetH11Protocol)
        assert started["app"].state.settings.resolved_base_url == BASE
        assert BASE in r.output
        monkeypatch.setenv("PUBDATA_BASE_URL", "https://data.qingdao.example")
        r = CliRunner().invoke(cli_app, ["serve", "--port", "8101"])
        assert r.exit_code == 0, r.output
        assert started["app"].state.settings.resolved_base_url == "https://data.qingdao.example"
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        forget_engine()


# --- raw UTF-8 in the request line, through a real uvicorn server -------------------------------


@pytest.fixture(scope="module")
def utf8_server(live_server: LiveServer) -> Iterator[str]:
    """A second real server on the live server's database, with the protocol `pubdata serve` uses."""
    with live_server.session() as s:
        make_entry(s, title="医疗机构执业登记信息", name="medical-institutions")
    port = _free_port()
    settings = live_server.settings.model_copy(update={"base_url": None, "port": port})
    config = uvicorn.Config(
        create_app(settings, live_server.engine),
        host="127.0.0.1",
        port=port,
        http=Utf8TargetH11Protocol,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def raw_get(address: str, target: str, *, split_at: int | None = None) -> tuple[int, bytes]:
    """GET ``target`` sent as raw UTF-8 bytes (as curl sends an unencoded URL), optionally in two
    packets split at byte ``split_at``."""
    host, port = address.split(":")
    request = f"GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        if split_at is None:
            sock.sendall(request)
        else:
            sock.sendall(request[:split_at])
            time.sleep(0.05)
            sock.sendall(request[split_at:])
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_ckan_search_accepts_a_raw_utf8_query(utf8_server):  # noqa: ANN001
    status, body = raw_get(utf8_server, "/api/3/action/package_search?q=医疗")
    assert status == 200, body
    assert b"medical-institutions" in body
    # the multi-byte character split across two packets
    status, body = raw_get(utf8_server, "/api/3/action/package_search?q=医疗", split_at=len("GET /api/3/x?q=") + 1)
    assert status == 200 and b"medical-institutions" in body


def test_dcat_catalogue_accepts_a_raw_utf8_query(utf8_server):  # noqa: ANN001
    status, body = raw_get(utf8_server, "/catalog.ttl?q=医疗")
    assert status == 200, body
    g = Graph().parse(data=body, format="turtle")
    assert URIRef(f"http://{utf8_server}/dataset/medical-institutions") in set(g.objects(None, DCAT.dataset))


def test_keep_alive_second_request_is_escaped_too(utf8_server):  # noqa: ANN001
    with httpx.Client(base_url=f"http://{utf8_server}") as http:  # httpx percent-encodes: the usual path
        assert http.get("/api/3/action/package_search", params={"q": "医疗"}).json()["result"]["count"] >= 1
    host, port = utf8_server.split(":")
    one = f"GET /api/3/action/package_search?q=医疗 HTTP/1.1\r\nHost: {utf8_server}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(one)
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(65536)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            body = head.split(b"\r\n\r\n", 1)[1]
            while len(body) < length:
                body += sock.recv(65536)
            assert b"medical-institutions" in body
