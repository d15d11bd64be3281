"""One chaos run: start the deployment, set up the actors, drive the load,
inject the faults on a timeline, let the work settle, check and report.

>>> report = run_chaos(Plan(duration=60, rate=40))   # doctest: +SKIP
>>> report.problems                                   # doctest: +SKIP
[]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from letter.db.engine import Database
from letter.db.migrate import upgrade
from tests.reliability.chaos import verify
from tests.reliability.chaos.cluster import REDIS_URL, Deployment, PrivatePostgres, wait_healthy
from tests.reliability.chaos.load import (
    Actor,
    Broadcast,
    Context,
    Ingest,
    Ledger,
    Manage,
    Sequence,
    drive,
)
from tests.servers import SmtpServer


@dataclass
class Plan:
    duration: float = 60.0  # seconds of load
    rate: float = 40.0  # requests started per second
    audience: int = 1000  # broadcast recipients
    outbox_batch: int = 20  # messages claimed at once: the in-flight window at a kill
    lease: int = 5  # seconds before a killed worker's claims are taken again
    settle: float = 120.0  # seconds allowed for the work to finish after the load


@dataclass
class Report:
    plan: Plan
    held_rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    faults: list[tuple[float, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"load held: {self.held_rate:.1f} requests/s for {self.plan.duration:.0f} s "
               f"(asked {self.plan.rate:.0f}/s); p50 {self.p50_ms:.0f} ms, "
               f"p99 {self.p99_ms:.0f} ms",
               "faults: " + "; ".join(f"{at:.1f}s {what}" for at, what in self.faults)]
        out += [f"{name}: {value}" for name, value in self.figures.items()]
        out += [f"PROBLEM: {problem}" for problem in self.problems] or ["problems: none"]
        return out


def actors(plan: Plan) -> list[Actor]:
    """Everything the run does; an import actor is one more entry here."""
    return [Ingest(), Manage(), Broadcast(plan.audience), Sequence()]


class Faults(threading.Thread):
    """SIGKILL an API process, SIGKILL a worker, restart PostgreSQL: each at
    its share of the load's duration, each followed by the restart of what
    died. Records when each happened and the database's outage windows."""

    def __init__(self, deployment: Deployment, postgres: PrivatePostgres, ledger: Ledger,
                 duration: float, broadcast: Callable[[], None], sent: Callable[[], int],
                 audience: int) -> None:
        super().__init__(daemon=True)
        self.broadcast, self.sent, self.audience = broadcast, sent, audience
        self.deployment, self.postgres, self.ledger = deployment, postgres, ledger
        self.duration = duration
        self.done: list[tuple[float, str]] = []
        self.db_windows: list[tuple[float, float]] = []
        self.error: BaseException | None = None

    def _at(self, share: float) -> None:
        while self.ledger.at() < share * self.duration:
            time.sleep(0.05)

    def run(self) -> None:
        try:
            self._at(0.2)
            self.deployment.kill_api(0)
            self.done.append((self.ledger.at(), "SIGKILL API process"))
            # Started again alongside (a loaded machine takes a while to boot it).
            restart = threading.Thread(target=self._restart_api, daemon=True)
            restart.start()
            self._at(0.3)
            self.broadcast()
            self.done.append((self.ledger.at(), "broadcast scheduled"))
            # Kill a worker once the broadcast is under way (at 50 % at the latest).
            while self.sent() < self.audience // 10 and self.ledger.at() < 0.5 * self.duration:
                time.sleep(0.02)
            self.deployment.kill_worker(0)
            sent = f"{self.sent()} of {self.audience} broadcast emails sent"
            self.done.append((self.ledger.at(), f"SIGKILL worker ({sent})"))
            time.sleep(1)
            self.deployment.start_worker()
            self.done.append((self.ledger.at(), "worker restarted"))
            self._at(0.6)
            start = self.ledger.at()
            self.postgres.restart()
            end = self.ledger.at()
            self.done.append((start, f"PostgreSQL restart ({end - start:.1f} s)"))
            # Connections broken by the restart surface on their next use.
            self.db_windows.append((start, end + 5.0))
            restart.join(120)
        except BaseException as exc:  # reported by the run
            self.error = exc

    def _restart_api(self) -> None:
        time.sleep(1)
        try:
            self.deployment.start_api()
            self.done.append((self.ledger.at(), "API process restarted"))
        except BaseException as exc:
            self.error = exc


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds the whole machine has been busy, this process's CPU
    seconds, its SMTP sink included); the machine's is 0 off Linux."""
    own = os.times()
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0, own.user + own.system
    ticks = [int(x) for x in fields]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)  # minus idle, iowait
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


async def _load(plan: Plan, deployment: Deployment, token: str, ledger: Ledger,
                postgres: PrivatePostgres, smtp: SmtpServer
                ) -> tuple[float, Faults, list[Actor], Context]:
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(timeout=30, limits=limits))
                   for _ in range(16)]
        ctx = Context(deployment.api_urls, "", token, "", ledger, clients)
        project = await ctx.call("POST", "/v1/projects", {"name": "Chaos", "timezone": "UTC"})
        assert project is not None
        ctx.slug = project.json()["slug"]
        # Every sign-up gets a welcome: a full-size run sends more in a day than
        # the default cap, which would (rightly) defer the rest to tomorrow.
        cap = await ctx.call("PUT", f"/v1/projects/{ctx.slug}/daily-send-cap",
                             {"daily_send_cap": 10_000_000})
        assert cap is not None
        key = await ctx.call("POST", f"/v1/projects/{ctx.slug}/keys", {"name": "load"})
        assert key is not None
        ctx.key = key.json()["key"]
        cast = actors(plan)
        for actor in cast:
            await actor.setup(ctx)
        ledger.started = time.monotonic()
        loop = asyncio.get_running_loop()
        broadcast = next(actor for actor in cast if isinstance(actor, Broadcast))

        def schedule() -> None:
            asyncio.run_coroutine_threadsafe(broadcast.send(ctx), loop).result(180)

        def sent() -> int:
            return sum(b"Subject: Chaos news" in m.data for m in list(smtp.messages))

        faults = Faults(deployment, postgres, ledger, plan.duration, schedule, sent,
                        plan.audience)
        faults.start()
        machine0, client0 = cpu_seconds()
        acknowledged0, begun = ledger.acknowledged, time.monotonic()
        held = await drive(ctx, cast, plan.rate, plan.duration)
        machine1, client1 = cpu_seconds()
        requests = max(ledger.acknowledged - acknowledged0, 1)
        seconds = time.monotonic() - begun
        ledger.cpu = {
            "machine busy during the load (cores)": round((machine1 - machine0) / seconds, 2),
            "CPU per acknowledged request, all processes (ms)":
                round((machine1 - machine0) / requests * 1000, 2),
            "of which the load client and its SMTP sink (ms)":
                round((client1 - client0) / requests * 1000, 2),
        }
        await asyncio.to_thread(faults.join, 120)
        return held, faults, cast, ctx


def run_chaos(plan: Plan) -> Report:
    report = Report(plan)
    postgres = PrivatePostgres().start()
    smtp = SmtpServer().start()
    data_dir = Path(tempfile.mkdtemp(prefix="letter-chaos-"))
    env = {"LETTER_REDIS_URL": REDIS_URL, "LETTER_SECRET_KEY": "chaos-secret",
           "LETTER_EMAIL_TRANSPORT": "smtp", "LETTER_SMTP_URL": smtp.url,
           "LETTER_RATE_LIMIT": "1000000/minute", "LETTER_INGEST_RATE_LIMIT": "1000000/minute",
           "LETTER_JOB_LEASE_SECONDS": str(plan.lease),
           "LETTER_OUTBOX_LEASE_SECONDS": str(plan.lease),
           "LETTER_OUTBOX_BATCH_SIZE": str(plan.outbox_batch)}
    deployment = Deployment(postgres.url, data_dir, env)
    db = Database.from_url(postgres.url)
    try:
        upgrade(postgres.url)
        deployment.start_api()
        deployment.start_api()
        deployment.start_worker()
        deployment.start_worker()
        token = deployment.bootstrap_token()
        ledger = Ledger()
        held, faults, cast, _ = asyncio.run(
            _load(plan, deployment, token, ledger, postgres, smtp))
        if faults.error is not None:
            raise faults.error
        wait_healthy(deployment.api_urls)
        settled = verify.settle(db, plan.settle)
        facts = verify.gather(db, smtp, settled)
        report.held_rate = held
        latencies = sorted(ledger.latencies) or [0.0]
        report.p50_ms = latencies[len(latencies) // 2] * 1000
        report.p99_ms = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        report.faults = sorted(faults.done)
        # Each interrupted send may repeat the batch it had handed to SMTP but not
        # recorded: the killed worker's, and each of the two workers' when the
        # database restarts under them.
        allowed = plan.outbox_batch * 3
        broadcast = next(a for a in cast if isinstance(a, Broadcast))
        sections = [verify.check_ingestion(ledger, facts),
                    verify.check_broadcast(broadcast.recipients(), facts, allowed),
                    verify.check_sequence(ledger, facts, allowed),
                    verify.check_errors(ledger, faults.db_windows)]
        sections += [actor.verify(facts) for actor in cast]
        report.figures = {"requests acknowledged": ledger.acknowledged,
                          "attempts": ledger.attempts, "answers": dict(ledger.statuses),
                          "transport errors": dict(Counter(k for _, k in ledger.transport_errors)),
                          "settled after (s)": round(settled, 1), **ledger.cpu}
        for section in sections:
            report.problems += section.pop("problems", [])
            report.figures.update(section)
        return report
    finally:
        db.engine.dispose()
        deployment.stop()
        smtp.stop()
        postgres.stop()
        if report.figures and not report.problems:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"the processes' logs are kept in {data_dir}")
