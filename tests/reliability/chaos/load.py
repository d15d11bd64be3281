"""The load: clients at a steady open-loop rate, each request retried with
the same body (so the same ``messageId``) on a transport error, a 5xx or a
429 — what the SDKs do — on the next live API process, until it is
acknowledged. The ledger remembers what was acknowledged, for the checks.

Work is done by actors, picked in turn by weight on each tick. Adding one is
adding an ``Actor`` to ``actors()`` in ``run.py``: it may prepare in
``setup`` (before the load), act in ``tick`` and report in ``verify`` (after
recovery). A CSV import is meant to arrive this way: ``setup`` uploads the
file, ``tick`` polls it, ``verify`` checks every contact the import reported
is stored.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.sequences.conftest import chain, email, node

SIGNED_UP = "Signed Up"
WELCOME = "Welcome aboard"
RETRY_FOR = 120.0  # seconds a client keeps retrying one request


@dataclass
class Ledger:
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0
    acknowledged: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[tuple[float, int, str]] = field(default_factory=list)
    transport_errors: list[tuple[float, str]] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)
    gave_up: int = 0
    events: set[str] = field(default_factory=set)  # tags of acknowledged tracks
    users: set[str] = field(default_factory=set)  # acknowledged identifies
    signed_up: set[str] = field(default_factory=set)  # acknowledged "Signed Up"
    cpu: dict[str, float] = field(default_factory=dict)  # CPU spent during the load

    def at(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Context:
    """What actors share: the live API URLs, the credentials, the ledger."""

    urls: list[str]
    key: str
    token: str
    slug: str
    ledger: Ledger
    # Several small pools: httpx scans its whole pool for every request, so
    # one pool of hundreds of connections costs the client more than the server.
    clients: list[httpx.AsyncClient]
    ids: dict[str, str] = field(default_factory=dict)  # created resources by name
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def call(self, method: str, path: str, body: Any = None, *, ingest: bool = False,
                   headers: dict[str, str] | None = None) -> httpx.Response | None:
        """Until acknowledged: the same request, on the next API process each time."""
        auth = {"Authorization": f"Bearer {self.key if ingest else self.token}",
                **(headers or {})}
        deadline = time.monotonic() + RETRY_FOR
        pause = 0.1
        ledger = self.ledger
        while time.monotonic() < deadline:
            if not self.urls:
                await asyncio.sleep(0.1)
                continue
            turn = next(self._turn)
            url = self.urls[turn % len(self.urls)]
            ledger.attempts += 1
            sent = time.monotonic()
            try:
                http = self.clients[turn % len(self.clients)]
                response = await http.request(method, url + path, json=body, headers=auth)
            except httpx.TransportError as exc:
                ledger.transport_errors.append((ledger.at(), type(exc).__name__))
            else:
                ledger.statuses[response.status_code] += 1
                if response.status_code < 300:
                    ledger.latencies.append(time.monotonic() - sent)
                    ledger.acknowledged += 1
                    return response
                if response.status_code >= 500:
                    ledger.server_errors.append((ledger.at(), response.status_code, path))
                elif response.status_code != 429:
                    ledger.client_errors.append(f"{method} {path}: {response.status_code} "
                                                f"{response.text[:200]}")
                    return None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
        ledger.gave_up += 1
        return None


class Actor:
    weight = 0  # share of the ticks; 0 for actors that only set up and verify

    async def setup(self, ctx: Context) -> None:
        """Before the load starts."""

    async def tick(self, ctx: Context, n: int) -> None:
        """One request's worth of work."""

    def verify(self, facts: Any) -> dict[str, Any]:
        """After recovery: figures for the report, and ``problems`` (must be empty)."""
        return {}


class Ingest(Actor):
    """New users identified one by one, then their "Signed Up" (which enrols
    them in the sequence); batches of identifies and tracks for others."""

    weight = 3

    def __init__(self, batch: int = 10) -> None:
        self.batch = batch
        self.pending: deque[str] = deque()  # identified, not yet signed up

    async def tick(self, ctx: Context, n: int) -> None:
        turn = n % 3
        if turn == 0:
            await self._batch(ctx, n)
        elif turn == 1 or not self.pending:
            user = f"u{n}"
            body = {"userId": user, "messageId": f"identify-{user}",
                    "traits": {"email": f"{user}@load.test", "name": user, "plan": "free"}}
            if await ctx.call("POST", "/v1/identify", body, ingest=True):
                ctx.ledger.users.add(user)
                self.pending.append(user)
        else:
            user = self.pending.popleft()
            tag = f"signup-{user}"
            body = {"userId": user, "event": SIGNED_UP, "messageId": tag,
                    "properties": {"tag": tag}}
            if await ctx.call("POST", "/v1/track", body, ingest=True):
                ctx.ledger.events.add(tag)
                ctx.ledger.signed_up.add(user)

    async def _batch(self, ctx: Context, n: int) -> None:
        users = [f"b{n}-{i}" for i in range(self.batch // 2)]
        items: list[dict[str, Any]] = [
            {"type": "identify", "userId": user, "messageId": f"identify-{user}",
             "traits": {"email": f"{user}@load.test", "plan": "free"}} for user in users]
        tags = [f"viewed-{user}" for user in users]
        items += [{"type": "track", "userId": user, "event": "Viewed", "messageId": tag,
                   "properties": {"tag": tag}} for user, tag in zip(users, tags, strict=True)]
        answer = await ctx.call("POST", "/v1/batch", {"batch": items}, ingest=True)
        if answer is not None:
            result = answer.json()
            if result.get("rejected"):
                ctx.ledger.client_errors.append(f"batch rejected items: {result}")
            ctx.ledger.users.update(users)
            ctx.ledger.events.update(tags)


class Manage(Actor):
    """The Management API while all this happens: reads, and templates made
    and deleted (creates carry an Idempotency-Key, so a retry is a replay)."""

    weight = 1

    async def tick(self, ctx: Context, n: int) -> None:
        base = f"/v1/projects/{ctx.slug}"
        turn = n % 5
        if turn == 0:
            key = {"Idempotency-Key": f"template-{n}"}
            made = await ctx.call("POST", f"{base}/templates", {"name": f"T{n}"}, headers=key)
            if made is not None:
                await ctx.call("DELETE", f"{base}/templates/{made.json()['id']}")
        elif turn == 1:
            await ctx.call("GET", f"{base}/contacts?limit=20")
        elif turn == 2 and "broadcast" in ctx.ids:
            await ctx.call("GET", f"{base}/broadcasts/{ctx.ids['broadcast']}/live")
        elif turn == 3 and "sequence" in ctx.ids:
            await ctx.call("GET", f"{base}/sequences/{ctx.ids['sequence']}/activity")
        else:
            await ctx.call("GET", f"{base}/events?limit=20")


class Broadcast(Actor):
    """A segment of seeded contacts (plan "pro") and a broadcast to it, sent
    while the load and the faults go on."""

    def __init__(self, audience: int) -> None:
        self.audience = audience

    def recipients(self) -> set[str]:
        return {f"r{i}@audience.test" for i in range(self.audience)}

    async def setup(self, ctx: Context) -> None:
        base = f"/v1/projects/{ctx.slug}"
        for start in range(0, self.audience, 500):
            batch = [{"type": "identify", "userId": f"r{i}", "messageId": f"seed-r{i}",
                      "traits": {"email": f"r{i}@audience.test", "plan": "pro"}}
                     for i in range(start, min(start + 500, self.audience))]
            assert await ctx.call("POST", "/v1/batch", {"batch": batch}, ingest=True)
        segment = await ctx.call("POST", f"{base}/segments", {"name": "Pro", "filter": {
            "kind": "trait", "path": "plan", "op": "eq", "value": "pro"}})
        assert segment is not None
        doc = {"type": "doc", "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "News for {{ contact.email }}"}]}]}
        made = await ctx.call("POST", f"{base}/broadcasts", {
            "name": "News", "subject": "Chaos news", "body_doc": doc,
            "audience": {"kind": "segment", "segmentId": segment.json()["id"]}})
        assert made is not None
        ctx.ids["broadcast"] = made.json()["id"]

    async def send(self, ctx: Context) -> None:
        path = f"/v1/projects/{ctx.slug}/broadcasts/{ctx.ids['broadcast']}/schedule"
        assert await ctx.call("POST", path, {"scheduled_at": None})


class Sequence(Actor):
    """A published sequence: "Signed Up" → a welcome email → the end."""

    async def setup(self, ctx: Context) -> None:
        base = f"/v1/projects/{ctx.slug}/sequences"
        made = await ctx.call("POST", base, {"name": "Welcome"})
        assert made is not None
        sid = made.json()["id"]
        graph = chain(node("t", "trigger"), email("welcome", WELCOME))
        saved = await ctx.call("PUT", f"{base}/{sid}/draft", {
            "graph": graph, "trigger": {"type": "event", "eventName": SIGNED_UP},
            "expected_revision": 0})
        assert saved is not None and await ctx.call("POST", f"{base}/{sid}/publish")
        ctx.ids["sequence"] = sid


async def drive(ctx: Context, actors: list[Actor], rate: float, duration: float,
                max_in_flight: int = 256) -> float:
    """Start ``rate`` requests a second for ``duration`` seconds (open loop:
    a request starts on time unless ``max_in_flight`` are outstanding) and
    wait for them all; returns the rate at which requests were started."""
    wheel = [actor for actor in actors for _ in range(actor.weight)]
    counters = {id(actor): itertools.count() for actor in actors}
    gate = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()

    async def one(actor: Actor) -> None:
        try:
            await actor.tick(ctx, next(counters[id(actor)]))
        finally:
            gate.release()

    begin = time.monotonic()
    started = 0
    while (elapsed := time.monotonic() - begin) < duration:
        due = int(elapsed * rate) + 1
        while started < due:
            await gate.acquire()
            task = asyncio.create_task(one(wheel[started % len(wheel)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            started += 1
        await asyncio.sleep(max(0.0, (started / rate) - (time.monotonic() - begin)))
    held = started / (time.monotonic() - begin)
    while tasks:
        await asyncio.gather(*list(tasks))
    return held


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]
