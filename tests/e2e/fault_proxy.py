"""A fault-injecting HTTP proxy on loopback, between an SDK and a real server.

Each request takes the next action of a plan (pass-through once the plan is
used up) and is logged with what happened::

    plan = [Fault.status_of(503, "unavailable"), Fault.drop()]
    with FaultProxy("127.0.0.1", 8300, plan) as proxy:
        Letter(api_key=key, base_url=proxy.url)...
        assert [e.action for e in proxy.log] == ["503", "drop", "pass"]

Actions: forward and answer (``Fault.passing``, also what an empty plan
does); answer a status without forwarding (``Fault.status_of``); forward, then
close the connection without answering (``Fault.drop``: the server did the
work, the client never hears of it); forward, then hold the connection open
until ``release()`` before closing it (``Fault.hold``).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


@dataclass(frozen=True)
class Fault:
    kind: str  # "pass", "status", "drop" or "hold"
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    @classmethod
    def status_of(cls, status: int, code: str, headers: dict[str, str] | None = None) -> Fault:
        body = {"error": {"code": code, "message": f"injected {status}"}}
        return cls("status", status, headers or {}, body)

    @classmethod
    def passing(cls) -> Fault:
        return cls("pass")

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def hold(cls) -> Fault:
        return cls("hold")


@dataclass
class Exchange:
    """One request seen by the proxy: its action and, if forwarded, the server's answer."""

    action: str
    request: dict[str, Any]
    at: float
    user_agent: str | None
    status: int | None = None
    response: dict[str, Any] | None = None


class FaultProxy:
    def __init__(self, host: str, port: int, plan: list[Fault] | None = None) -> None:
        self.target = (host, port)
        self.plan = list(plan or [])
        self.log: list[Exchange] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.held = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()

    def release(self) -> None:
        """Let held connections close."""
        self.released.set()

    def actions(self) -> list[str]:
        with self.lock:
            return [e.action for e in self.log]

    def add(self, *faults: Fault) -> None:
        with self.lock:
            self.plan.extend(faults)

    def _next(self, request: dict[str, Any], user_agent: str | None
              ) -> tuple[Fault | None, Exchange]:
        with self.lock:
            fault = self.plan.pop(0) if self.plan else None
            if fault is not None and fault.kind == "pass":
                fault = None
            action = "pass" if fault is None else (
                str(fault.status) if fault.kind == "status" else fault.kind)
            exchange = Exchange(action, request, time.monotonic(), user_agent)
            self.log.append(exchange)
            return fault, exchange

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes
                 ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.target, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = {}
                fault, exchange = proxy._next(parsed, self.headers.get("User-Agent"))
                if fault is not None and fault.kind == "status":
                    self._answer(fault.status, list(fault.headers.items()),
                                 json.dumps(fault.body).encode())
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
                status, answer_headers, payload = proxy._forward("POST", self.path, headers, body)
                exchange.status = status
                try:
                    exchange.response = json.loads(payload)
                except ValueError:
                    exchange.response = None
                if fault is None:
                    self._answer(status, answer_headers, payload)
                    return
                if fault.kind == "hold":
                    proxy.held.set()
                    proxy.released.wait(30)
                # "drop" and "hold": close without a byte of answer.
                self.close_connection = True

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        return Handler
