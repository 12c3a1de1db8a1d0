"""The load test's users (``benchmarks/load.py`` runs it headless, bounded in time):

- ``Platform``: an external platform posting demands to the intake API with its API key;
- ``DistrictManager``: the mobile app of a district manager — signs in once, lists its work
  orders (keyset pages) and opens one.

Both are ``FastHttpUser`` (geventhttpclient): the load generator shares the server's two
cores, and python-requests' ``HttpUser`` spent 2.5 ms of CPU per request beside 1.6 ms
(one run each at 1,000,000 orders, 14:40 UTC on 2026-12-02) — CPU the server then lacked.

    locust -f benchmarks/locustfile.py --headless -u 30 -r 10 -t 60s --host http://127.0.0.1:8000
    (LOAD_API_KEY: a hotline_12345 key; LOAD_USERS: comma-separated accounts of managers)
"""

from __future__ import annotations

import itertools
import os
import random
import time
import uuid

from locust import FastHttpUser, between, task

API_KEY = os.environ.get("LOAD_API_KEY", "")
ACCOUNTS = itertools.cycle([u for u in os.environ.get("LOAD_USERS", "sc001_dm01").split(",") if u])
PASSWORD = os.environ.get("LOAD_PASSWORD", "GridCare#2026")
RUN = uuid.uuid4().hex[:8]
COUNTER = itertools.count()
TYPES = ["complaint", "consultation", "report", "urgent", "service"]


class Platform(FastHttpUser):
    weight = 1
    wait_time = between(0.05, 0.3)

    @task
    def post_demand(self) -> None:
        n = next(COUNTER)
        self.client.post("/api/v1/intake/hotline_12345", name="POST /api/v1/intake/hotline_12345",
                         headers={"X-API-Key": API_KEY},
                         json={"external_id": f"load-{RUN}-{n}", "demand_type": TYPES[n % 5],
                               "content": f"关键词{n % 50} 用户反映停电", "contact_name": "李女士",
                               "phone": f"138{n % 99991:08d}",
                               "received_at": time.strftime("%Y-%m-%dT%H:%M:%S+08:00")})


class DistrictManager(FastHttpUser):
    weight = 2
    wait_time = between(0.05, 0.3)

    def on_start(self) -> None:
        response = self.client.post("/api/v1/security/login", name="POST /api/v1/security/login",
                                    json={"username": next(ACCOUNTS), "password": PASSWORD, "provider": "db"})
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        self.ids: list[int] = []
        self.cursor = None

    @task(3)
    def list_orders(self) -> None:
        url = "/api/v1/workorder/?limit=20" + (f"&after_id={self.cursor}" if self.cursor else "")
        response = self.client.get(url, name="GET /api/v1/workorder/ (keyset page)", headers=self.headers)
        body = response.json()
        self.ids = [o["id"] for o in body["result"]] or self.ids
        self.cursor = body["next_after_id"] if random.random() < 0.7 else None

    @task(2)
    def open_order(self) -> None:
        if self.ids:
            self.client.get(f"/api/v1/workorder/{random.choice(self.ids)}", name="GET /api/v1/workorder/<id>",
                            headers=self.headers)
