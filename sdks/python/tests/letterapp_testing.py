"""Test helpers for letterapp: a scriptable fake transport and recorders (stdlib only)."""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from letterapp import LetterError, Response

KEY = "lt_live_" + "0123456789abcdef" * 3

Handler = Callable[[str, Dict[str, str], bytes], Tuple[int, Dict[str, str], bytes]]
Answer = Union[Response, BaseException, Callable[[bytes], Response]]


class Request:
    """One request the fake transport received."""

    def __init__(self, url: str, headers: Dict[str, str], body: bytes, timeout: float) -> None:
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.json: Dict[str, Any] = json.loads(body.decode("utf-8"))

    @property
    def items(self) -> List[Dict[str, Any]]:
        return list(self.json["batch"])


class FakeTransport:
    """Records requests; answers from a script, then with ``default``.

    A scripted answer is a :class:`Response`, an exception instance to raise,
    or a callable taking the body and returning a Response.
    """

    def __init__(self, *answers: Answer, default: Optional[Answer] = None) -> None:
        self.script: List[Answer] = list(answers)
        self.default: Answer = default if default is not None else ok()
        self.requests: List[Request] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    def send(self, url: str, headers: Any, body: bytes, timeout: float) -> Response:
        with self.lock:
            self.requests.append(Request(url, dict(headers), body, timeout))
            answer = self.script.pop(0) if self.script else self.default
            self.arrived.notify_all()
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer(body)
        return answer

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``count`` requests arrived."""
        with self.lock:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    @property
    def items(self) -> List[Dict[str, Any]]:
        return [item for request in self.requests for item in request.items]


class HangingTransport(FakeTransport):
    """Blocks every send until ``release`` is set (then answers 200)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def send(self, url: str, headers: Any, body: bytes, timeout: float) -> Response:
        self.entered.set()
        self.release.wait(30)
        return super().send(url, headers, body, timeout)


def ok(accepted: int = 0, rejected: Optional[List[Dict[str, Any]]] = None) -> Response:
    body = {"accepted": accepted, "duplicates": 0, "rejected": rejected or []}
    return Response(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


def error(status: int, code: str, message: str = "nope", **headers: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Response(status, dict(headers), body)


class Errors:
    """An on_error callback that records its calls."""

    def __init__(self) -> None:
        self.calls: List[Tuple[LetterError, List[Dict[str, Any]]]] = []
        self.lock = threading.Lock()

    def __call__(self, err: LetterError, items: List[Dict[str, Any]]) -> None:
        with self.lock:
            self.calls.append((err, items))

    @property
    def codes(self) -> List[str]:
        return [err.code for err, _ in self.calls]

    @property
    def items(self) -> List[Dict[str, Any]]:
        return [item for _, items in self.calls for item in items]


class Sleeps:
    """An injectable sleep that records delays and returns at once."""

    def __init__(self) -> None:
        self.delays: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class RecordingServer:
    """A real HTTP server on 127.0.0.1 (random port) that records POSTed batches.

    ``answer(path, headers, body) -> (status, headers, body)`` decides the
    response; by default every batch is accepted. Connections are kept
    alive (HTTP/1.1) and counted: ``connections`` opened, ``closed`` ended,
    ``peers`` the client port of every request; ``idle_timeout`` closes a
    connection that waits that long for its next request::

        with RecordingServer() as server:
            ... Letter(KEY, base_url=server.url) ...
            server.items  # every item received
    """

    def __init__(
        self, answer: Optional[Handler] = None, idle_timeout: Optional[float] = None
    ) -> None:
        import http.server

        self.answer = answer or (lambda path, headers, body: (200, {}, ok().body))
        self.requests: List[Tuple[str, Dict[str, str], bytes]] = []
        self.connections = 0
        self.closed = 0
        self.peers: List[int] = []
        self.sockets: List[Any] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = idle_timeout

            def setup(self) -> None:
                super().setup()
                with server.lock:
                    server.connections += 1
                    server.sockets.append(self.connection)
                    server.arrived.notify_all()

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with server.lock:
                        server.closed += 1
                        server.arrived.notify_all()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                with server.lock:
                    server.requests.append((self.path, headers, body))
                    server.peers.append(self.client_address[1])
                    server.arrived.notify_all()
                status, extra, payload = server.answer(self.path, headers, body)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        class QuietServer(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that gave up (timeouts) are expected in these tests

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> RecordingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        import contextlib
        import socket

        self.httpd.shutdown()
        self.httpd.server_close()
        with self.lock:
            sockets = list(self.sockets)
        for sock in sockets:  # like a real server going away: kept-alive connections end too
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self.lock:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def wait_closed(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``count`` connections ended."""
        with self.lock:
            return self.arrived.wait_for(lambda: self.closed >= count, timeout)

    @property
    def items(self) -> List[Dict[str, Any]]:
        with self.lock:
            bodies = [body for _, _, body in self.requests]
        return [item for body in bodies for item in json.loads(body)["batch"]]


def clean_env() -> Dict[str, str]:
    """os.environ without proxy settings, for subprocesses talking to 127.0.0.1."""
    import os

    return {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
