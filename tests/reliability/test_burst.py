"""A burst of concurrent requests on one API process: more requests than
database connections in its pool must queue, not starve each other. (Each
request takes a connection on a worker thread and needs a thread again to
commit and close; with every thread waiting for a connection, no holder
could finish and the burst stalled for the pool timeout, then failed 500.)"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.e2e.conftest import start_server, stop_server

BURST = 150


async def _burst(base_url: str, token: str) -> tuple[Counter[int], float]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=BURST)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as http:
        started = time.monotonic()
        answers = await asyncio.gather(*(http.get("/v1/projects", headers=headers)
                                         for _ in range(BURST)))
        return Counter(a.status_code for a in answers), time.monotonic() - started


def test_a_burst_larger_than_the_pool_is_answered(tmp_path: Path, fresh_database_url: str
                                                  ) -> None:
    server = start_server(tmp_path / "data", fresh_database_url,
                          {"LETTER_RATE_LIMIT": "100000/minute"}, "--no-worker")
    try:
        token = server.bootstrap()["token"]
        statuses, took = asyncio.run(_burst(server.base_url, token))
    finally:
        stop_server(server)
    print(f"\n{BURST} concurrent requests answered in {took:.1f} s: {dict(statuses)}")
    assert statuses == Counter({200: BURST})
    assert took < 25, "requests waited for the pool timeout"
