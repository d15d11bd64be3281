"""The default transport: one kept-alive connection for every batch, reopened on error."""

from __future__ import annotations

import base64
import os
import socket
import threading
import warnings
from typing import Any, Dict, List, Tuple

import pytest

from letterapp import Letter, UrllibTransport
from letterapp_testing import KEY, RecordingServer, ok


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


HEADERS = {"Content-Type": "application/json"}
BODY = b'{"batch":[]}'


class ScriptedServer:
    """A raw HTTP/1.1 server on 127.0.0.1 that plays one script per connection.

    Each script is a list of actions, one per request read on that
    connection: ``"ok"`` answers 200 and keeps the connection, ``"drop"``
    closes it without answering, ``"hang"`` never answers. When a script
    ends, the server closes the connection.
    """

    def __init__(self, *scripts: List[str]) -> None:
        self.scripts = list(scripts)
        self.requests: List[Tuple[int, bytes]] = []  # (connection number, body)
        self.connections = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = "http://127.0.0.1:%d/v1/batch" % self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                number = self.connections
                self.connections += 1
                script = self.scripts.pop(0) if self.scripts else ["ok"]
            threading.Thread(target=self._serve, args=(conn, number, script), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int, script: List[str]) -> None:
        reader = conn.makefile("rb")
        try:
            for action in script:
                request_line = reader.readline()
                if not request_line:
                    return
                length = 0
                while True:
                    line = reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = reader.read(length)
                with self.lock:
                    self.requests.append((number, body))
                if action == "drop":
                    return
                if action == "hang":
                    self.release.wait(10)
                    return
                payload = ok().body
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
                )
        except OSError:
            pass
        finally:
            reader.close()
            conn.close()


def test_one_connection_carries_every_batch(errors) -> None:
    with RecordingServer() as server:
        client = Letter(KEY, base_url=server.url, flush_at=10, on_error=errors)
        for page in range(5):
            for i in range(40):
                client.track("u%d" % (page * 40 + i), "E")
            assert client.flush(timeout=5)
        assert client.close(timeout=5)
        assert len(server.requests) == 20
        assert server.connections == 1 and len(set(server.peers)) == 1
        assert server.wait_closed(1)  # close() closed the client's own connection
    assert len(server.items) == 200 and errors.calls == []


def test_error_answers_keep_the_connection(make_client, sleeps, errors) -> None:
    answers = iter([(503, b"{}"), (400, b'{"error":{"code":"bad_request","message":"no"}}')])

    def answer(path, headers, body):
        status, payload = next(answers, (200, ok().body))
        return status, {}, payload

    with RecordingServer(answer) as server:
        client = make_client(UrllibTransport(), base_url=server.url, flush_at=1)
        client.track("u0", "E")  # 503, then 400: not retried
        assert client.flush(timeout=5)
        client.track("u1", "E")
        assert client.flush(timeout=5)
        assert len(server.requests) == 3 and server.connections == 1
    assert errors.codes == ["bad_request"] and len(sleeps.delays) == 1


def test_connection_close_from_the_server_is_honoured(make_client, sleeps, errors) -> None:
    def answer(path, headers, body):
        return 200, {"Connection": "close"}, ok().body

    with RecordingServer(answer) as server:
        client = make_client(UrllibTransport(), base_url=server.url, flush_at=1)
        for i in range(3):
            client.track("u%d" % i, "E")
            assert client.flush(timeout=5)
        assert len(server.requests) == 3 and server.connections == 3
    assert errors.calls == [] and sleeps.delays == []


def test_a_connection_the_server_closed_while_idle_is_replaced(make_client, sleeps, errors) -> None:
    with RecordingServer(idle_timeout=0.05) as server:
        client = make_client(UrllibTransport(), base_url=server.url, flush_at=1)
        client.track("u0", "E")
        assert client.flush(timeout=5)
        assert server.wait_closed(1)  # the server dropped the idle connection
        client.track("u1", "E")
        assert client.flush(timeout=5)
        assert len(server.requests) == 2 and server.connections == 2
    assert errors.calls == [] and sleeps.delays == []  # no network error, no retry


def test_a_request_crossing_the_servers_close_is_sent_again_at_once() -> None:
    # The server reads the second request on the kept-alive connection, then
    # closes it without answering (its idle timeout fired as the request came).
    with ScriptedServer(["ok", "drop"], ["ok"]) as server:
        transport = UrllibTransport()
        assert transport.send(server.url, HEADERS, b"1", 5).status == 200
        assert transport.send(server.url, HEADERS, b"2", 5).status == 200
        assert server.requests == [(0, b"1"), (0, b"2"), (1, b"2")]


def test_a_new_connection_that_fails_is_a_network_error_retried_with_backoff(
    make_client, sleeps, errors
) -> None:
    with ScriptedServer(["drop"], ["ok"]) as server:
        transport = UrllibTransport()
        with pytest.raises(ConnectionError):
            transport.send(server.url, HEADERS, b"1", 5)
        assert server.requests == [(0, b"1")]  # not sent again by the transport...
    with ScriptedServer(["drop"], ["ok"]) as server:
        client = make_client(UrllibTransport(), base_url=server.url[: -len("/v1/batch")])
        client.track("u0", "E")
        assert client.flush(timeout=5)
        assert [number for number, _ in server.requests] == [0, 1]
    assert len(sleeps.delays) == 1 and errors.calls == []  # ...but by the client, as before


def test_a_timeout_on_a_reused_connection_is_not_sent_again() -> None:
    with ScriptedServer(["ok", "hang"], ["ok"]) as server:
        transport = UrllibTransport()
        assert transport.send(server.url, HEADERS, b"1", 5).status == 200
        with pytest.raises(OSError):  # socket.timeout
            transport.send(server.url, HEADERS, b"2", 0.3)
        assert server.requests == [(0, b"1"), (0, b"2")]
        assert transport.send(server.url, HEADERS, b"3", 5).status == 200  # a new connection
        assert server.requests[-1] == (1, b"3")


def test_a_client_given_a_transport_leaves_it_open(errors) -> None:
    with RecordingServer() as server:
        transport = UrllibTransport()
        client = Letter(KEY, base_url=server.url, transport=transport, on_error=errors)
        client.track("u0", "E")
        assert client.close(timeout=5)
        assert not server.wait_closed(1, timeout=0.2)  # still the caller's to use...
        assert transport.send(server.url + "/v1/batch", HEADERS, BODY, 5).status == 200
        assert server.connections == 1
        transport.close()  # ...and to close
        assert server.wait_closed(1)


def test_one_transport_shared_by_two_clients(errors) -> None:
    with RecordingServer() as server:
        transport = UrllibTransport()
        clients = [
            Letter(KEY, base_url=server.url, transport=transport, flush_at=5, on_error=errors)
            for _ in range(2)
        ]

        def push(client: Letter, name: str) -> None:
            for i in range(200):
                client.track(name, "E", properties={"i": i})

        threads = [
            threading.Thread(target=push, args=(client, "c%d" % n))
            for n, client in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(client.close(timeout=10) for client in clients)
        assert len(server.requests) >= 80 and server.connections <= 2
        items = server.items
    for name in ("c0", "c1"):
        assert [item["properties"]["i"] for item in items if item["user_id"] == name] == list(
            range(200)
        )
    assert errors.calls == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_opens_its_own_connection() -> None:
    with RecordingServer() as server:
        url = server.url + "/v1/batch"
        transport = UrllibTransport()
        assert transport.send(url, HEADERS, BODY, 5).status == 200  # the parent's connection
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
            pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                code = 0 if transport.send(url, HEADERS, BODY, 5).status == 200 else 2
                transport.close()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert transport.send(url, HEADERS, BODY, 5).status == 200  # the parent's again
        assert server.connections == 2
        parent, child, again = server.peers
        assert parent == again != child


def _proxy_server() -> Tuple[RecordingServer, List[Dict[str, str]]]:
    seen: List[Dict[str, str]] = []

    def answer(path, headers, body):
        seen.append({"path": path, **{key.lower(): value for key, value in headers.items()}})
        return 200, {}, ok().body

    return RecordingServer(answer), seen


def test_http_proxy_from_the_environment_is_used(monkeypatch) -> None:
    proxy, seen = _proxy_server()
    with proxy:
        host = proxy.url[len("http://") :]
        monkeypatch.setenv("http_proxy", "http://ann:s%40cret@" + host)
        transport = UrllibTransport()
        for _ in range(2):
            response = transport.send("http://api.letter.test/v1/batch", HEADERS, BODY, 5)
            assert response.status == 200
        assert proxy.connections == 1  # kept alive through the proxy too
    assert [s["path"] for s in seen] == ["http://api.letter.test/v1/batch"] * 2
    assert seen[0]["host"] == "api.letter.test"
    expected = "Basic " + base64.b64encode(b"ann:s@cret").decode()
    assert seen[0]["proxy-authorization"] == expected


def test_no_proxy_bypasses_the_proxy(monkeypatch) -> None:
    proxy, proxied = _proxy_server()
    with proxy, RecordingServer() as direct:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        transport = UrllibTransport()
        assert transport.send(direct.url + "/v1/batch", HEADERS, BODY, 5).status == 200
        assert len(direct.requests) == 1 and direct.requests[0][0] == "/v1/batch"
    assert proxied == []


def test_idle_check_sees_a_closed_peer() -> None:
    from letterapp._transport import _readable

    left, right = socket.socketpair()
    try:
        assert _readable(left) is False
        right.close()
        assert _readable(left) is True
    finally:
        left.close()
