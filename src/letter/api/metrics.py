"""Prometheus metrics: request counts and latencies by route template.

``GET /metrics`` serves them in the text exposition format. Labels use the
route template (``/v1/projects/{slug}``), never the raw path, so a scanner
cannot blow up the number of series.

With ``LETTER_METRICS_TOKEN`` set, a scrape must send it as a bearer token.
Without one, ``/metrics`` answers only requests that reached Letter on a
loopback address; on any other interface it is a 404, as if absent.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from letter.errors import NotFound, Unauthorized
from letter.ingestion.groupcommit import GroupCommit

__all__ = ["Metrics", "MetricsMiddleware", "is_loopback", "metrics_router"]


class Metrics:
    """One registry per app, so several apps in one process (tests) stay apart."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "letter_http_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "letter_http_request_duration_seconds",
            "Time to the response's first byte.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def watch_single_calls(self, calls: GroupCommit) -> None:
        """Export how many single ingestion calls the shared transactions held."""
        self.registry.register(_SingleCalls(calls))


class _SingleCalls(Collector):
    def __init__(self, calls: GroupCommit) -> None:
        self.calls = calls

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "letter_ingest_single_calls", "Single ingestion calls committed.",
            value=self.calls.calls)
        yield CounterMetricFamily(
            "letter_ingest_single_call_transactions",
            "Transactions that committed single ingestion calls (several share one).",
            value=self.calls.transactions)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
                self.metrics.requests.labels(method, route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, timed_send)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address or ``localhost``) is a loopback one."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _authorize(request: Request, token: str | None) -> None:
    if token is None:
        server = request.scope.get("server")
        if not is_loopback(server[0] if server else None):
            raise NotFound("No route GET /metrics.")
        return
    sent = request.headers.get("authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        raise Unauthorized("Send the metrics token as 'Authorization: Bearer …'.")


def metrics_router(metrics: Metrics, token: str | None = None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    def serve_metrics(request: Request) -> Response:
        _authorize(request, token)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
