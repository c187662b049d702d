"""The locust task set of benchmarks/load.py: run only as locust's own process
(``locust -f benchmarks/load_locust.py --headless``), never imported (locust patches the standard
library with gevent). What to call comes from the JSON file named by ``PUBDATA_LOAD_PLAN``, written by
load.py: the servers (each simulated client keeps to one of them, clients alternating between
replicas), one endpoint to exercise (or ``mix``: every endpoint in turn), the bearer token of each
client per endpoint, and the requests (method, path, query or body) each endpoint cycles through.
A response is a failure unless its status is the one the plan expects (200)."""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

from locust import HttpUser, constant, task

PLAN: dict[str, Any] = json.loads(open(os.environ["PUBDATA_LOAD_PLAN"], encoding="utf-8").read())  # noqa: SIM115
_numbers = itertools.count()


class Client(HttpUser):
    wait_time = constant(0)
    host = PLAN["hosts"][0]

    def on_start(self) -> None:
        n = next(_numbers)
        self.base = PLAN["hosts"][n % len(PLAN["hosts"])]
        endpoints = list(PLAN["requests"]) if PLAN["endpoint"] == "mix" else [PLAN["endpoint"]]
        # each client starts at a different place of the cycle, so that clients do not move in step
        calls = [(name, spec) for name in endpoints for spec in PLAN["requests"][name]]
        self.calls = itertools.islice(itertools.cycle(calls), n % len(calls), None)
        tokens = PLAN["tokens"]
        self.headers = {name: {"Authorization": f"Bearer {tokens[name][n % len(tokens[name])]}"} for name in endpoints}

    @task
    def call(self) -> None:
        name, spec = next(self.calls)
        url = self.base + spec["path"]
        kwargs: dict[str, Any] = {"name": name, "catch_response": True, "headers": self.headers.get(name, {})}
        if spec.get("params"):
            kwargs["params"] = spec["params"]
        if spec.get("json") is not None:
            kwargs["json"] = spec["json"]
        with self.client.request(spec.get("method", "GET"), url, **kwargs) as response:
            if response.status_code != spec.get("expect", 200):
                response.failure(f"{response.status_code} {response.text[:200]}")
