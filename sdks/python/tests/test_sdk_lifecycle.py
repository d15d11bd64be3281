"""Timeouts, close, garbage collection, fork, atexit and the real urllib transport."""

from __future__ import annotations

import atexit
import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
import weakref
from pathlib import Path

import pytest

from letterapp import Letter, LetterError, Response, UrllibTransport
from letterapp_testing import KEY, FakeTransport, HangingTransport, RecordingServer, clean_env, ok

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_consumer_is_a_daemon_thread(make_client) -> None:
    client = make_client()
    assert client._consumer.thread.daemon
    assert client._consumer.thread.name == "letterapp-consumer"


def test_flush_times_out_on_a_hanging_transport(make_client) -> None:
    transport = HangingTransport()
    client = make_client(transport)
    client.track("u1", "E")
    started = time.monotonic()
    assert client.flush(timeout=0.2) is False
    assert 0.15 <= time.monotonic() - started < 2
    transport.release.set()
    assert client.flush(timeout=5) is True
    assert len(transport.items) == 1


def test_close_times_out_and_reports_what_was_not_sent(make_client, errors) -> None:
    transport = HangingTransport()
    client = make_client(transport, flush_at=1)
    client.track("u0", "E")
    assert transport.entered.wait(5)  # u0 is in flight
    client.track("u1", "E")
    client.track("u2", "E")
    started = time.monotonic()
    assert client.close(timeout=0.2) is False
    assert time.monotonic() - started < 2
    with pytest.raises(LetterError):
        client.track("u3", "E")
    by_user = {items[0]["user_id"]: (err, items) for err, items in errors.calls}
    assert sorted(by_user) == ["u0", "u1"]
    queued_err, queued_items = by_user["u1"]
    assert [item["user_id"] for item in queued_items] == ["u1", "u2"]
    assert queued_err.code == "client_closed" and "timed out" in queued_err.message
    in_flight_err, _ = by_user["u0"]
    assert in_flight_err.code == "client_closed" and "unknown" in in_flight_err.message
    transport.release.set()  # the hung request finally completes...
    client._consumer.thread.join(5)
    assert not client._consumer.thread.is_alive()
    assert len(errors.calls) == 2  # ...and nothing is reported twice
    assert [item["user_id"] for item in transport.items] == ["u0"]


def test_close_cuts_retry_backoff_short(errors) -> None:
    transport = FakeTransport(default=Response(503, {}, b""))
    client = Letter(KEY, transport=transport, on_error=errors, max_retries=10)  # real sleep
    client.track("u1", "E")
    assert transport.wait_for(2, timeout=5)
    started = time.monotonic()
    assert client.close(timeout=0.1) is False
    client._consumer.thread.join(5)
    assert time.monotonic() - started < 2  # not the ~4 minutes of backoff left
    assert errors.codes == ["client_closed"]
    assert errors.items[0]["user_id"] == "u1"


def test_close_without_timeout_sends_everything(make_client) -> None:
    def slow(body: bytes) -> Response:
        time.sleep(0.01)
        return ok()

    transport = FakeTransport(default=slow)
    client = make_client(transport, flush_at=10, flush_interval=60)
    for i in range(55):
        client.track("u%d" % i, "E")
    assert client.close() is True
    assert len(transport.items) == 55
    assert not client._consumer.thread.is_alive()


def test_flush_and_close_from_on_error_do_not_deadlock(make_client) -> None:
    results: list = []

    def on_error(err, items) -> None:
        results.append(client.flush(timeout=5))
        results.append(client.close(timeout=5))

    transport = FakeTransport(Response(400, {}, b""))
    client = make_client(transport, on_error=on_error)
    client.track("u1", "E")
    started = time.monotonic()
    client._consumer.thread.join(5)
    assert time.monotonic() - started < 2
    assert results == [False, False]


def test_client_is_garbage_collected_and_its_thread_drains(errors, monkeypatch) -> None:
    unregistered: list = []
    unregister = atexit.unregister

    def spy(func) -> None:
        unregistered.append(func)
        unregister(func)

    monkeypatch.setattr(atexit, "unregister", spy)
    transport = FakeTransport()
    client = Letter(KEY, transport=transport, flush_at=100, flush_interval=60, on_error=errors)
    client.track("u1", "E")
    thread = client._consumer.thread
    hook = client._atexit_hook  # holds the client only weakly
    ref = weakref.ref(client)
    del client
    gc.collect()
    assert ref() is None  # neither atexit, the fork hook nor the thread keep it alive
    assert unregistered == [hook]  # and its exit hook is gone with it
    thread.join(5)
    assert not thread.is_alive()
    assert [item["user_id"] for item in transport.items] == ["u1"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_a_fresh_queue_and_consumer(tmp_path: Path, errors) -> None:
    log = tmp_path / "sent.jsonl"

    class FileTransport:
        def send(self, url, headers, body, timeout):
            users = [item["user_id"] for item in json.loads(body)["batch"]]
            line = json.dumps({"pid": os.getpid(), "users": users}) + "\n"
            fd = os.open(str(log), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
            return Response(200, {}, b"{}")

    def sent() -> list:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    client = Letter(
        KEY, transport=FileTransport(), flush_at=100, flush_interval=60, on_error=errors
    )
    parent = client._consumer
    client.track("parent-1", "E")  # picked up by the consumer's pending batch
    deadline = time.monotonic() + 5
    while parent.queue and time.monotonic() < deadline:
        time.sleep(0.001)
    client.track("parent-2", "E")  # stays in the queue (the batch waits for 98 more)
    assert [entry[1] for entry in parent.queue] == ["parent-2"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            fresh = client._consumer
            if fresh is parent or list(fresh.queue) or not fresh.thread.is_alive():
                code = 2
            else:
                client.track("child-1", "E")
                code = 0 if client.flush(timeout=5) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert sent() == [{"pid": pid, "users": ["child-1"]}]  # nothing of the parent's
    assert client._consumer is parent and parent.thread.is_alive()
    assert [entry[1] for entry in parent.queue] == ["parent-2"]  # parent unaffected
    assert client.close(timeout=5)
    assert sent()[1:] == [{"pid": os.getpid(), "users": ["parent-1", "parent-2"]}]
    assert errors.calls == []


def _run_script(body: str, timeout: float = 20) -> subprocess.CompletedProcess:
    script = "import sys\nsys.path.insert(0, %r)\n" % SRC + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_atexit_flushes_what_was_queued() -> None:
    with RecordingServer() as server:
        proc = _run_script(
            """
            from letterapp import Letter
            letter = Letter(%r, base_url=%r, flush_at=1000, flush_interval=60)
            for i in range(300):
                letter.track("u%%d" %% i, "E", properties={"i": i})
            # no close(), no flush(): the interpreter exits with 300 queued items
            """
            % (KEY, server.url)
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        items = server.items
    assert [item["properties"]["i"] for item in items] == list(range(300))


def test_atexit_waits_for_a_garbage_collected_client() -> None:
    """A client local to main() is collected before exit; its queue is still sent."""
    with RecordingServer() as server:
        proc = _run_script(
            """
            from letterapp import Letter

            def main():
                letter = Letter(%r, base_url=%r, flush_at=1000, flush_interval=60)
                for i in range(300):
                    letter.track("u%%d" %% i, "E", properties={"i": i})

            main()  # the client is garbage collected here, with 300 queued items
            """
            % (KEY, server.url)
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        items = server.items
    assert [item["properties"]["i"] for item in items] == list(range(300))


def test_atexit_wait_is_bounded() -> None:
    release = threading.Event()

    def hang(path, headers, body):
        release.wait(10)
        return 200, {}, b"{}"

    with RecordingServer(hang) as server:
        try:
            started = time.monotonic()
            proc = _run_script(
                """
                from letterapp import Letter
                letter = Letter(%r, base_url=%r, timeout=0.5)
                letter.track("u1", "E")
                """
                % (KEY, server.url)
            )
            elapsed = time.monotonic() - started
        finally:
            release.set()
    assert proc.returncode == 0
    assert elapsed < 5, elapsed
    assert "client_closed" in proc.stderr or "network_error" in proc.stderr, proc.stderr


def test_urllib_transport_against_a_real_server() -> None:
    def answer(path, headers, body):
        if path == "/redirect/v1/batch":
            return 302, {"Location": "/v1/batch"}, b""
        if json.loads(body)["batch"][0]["user_id"] == "bad":
            return 400, {}, b'{"error": {"code": "bad_request", "message": "no"}}'
        return 200, {"X-Test": "yes"}, ok(accepted=1).body

    transport = UrllibTransport()
    with RecordingServer(answer) as server:
        good = transport.send(
            server.url + "/v1/batch",
            {"Content-Type": "application/json", "User-Agent": "letterapp-python/0.1.0"},
            b'{"batch":[{"user_id":"u1"}]}',
            5,
        )
        assert good.status == 200 and good.header("x-test") == "yes"
        assert json.loads(good.body)["accepted"] == 1
        bad = transport.send(server.url + "/v1/batch", {}, b'{"batch":[{"user_id":"bad"}]}', 5)
        assert bad.status == 400 and b"bad_request" in bad.body
        moved = transport.send(server.url + "/redirect/v1/batch", {}, b'{"batch":[{}]}', 5)
        assert moved.status == 302 and moved.header("Location") == "/v1/batch"
        assert len(server.requests) == 3  # the redirect was not followed
        _, headers, _ = server.requests[0]
        lowered = {key.lower(): value for key, value in headers.items()}
        assert lowered["user-agent"] == "letterapp-python/0.1.0"
        assert lowered["content-type"] == "application/json"
        port = server.httpd.server_address[1]
    with pytest.raises(OSError):  # nothing listens any more: a network error
        transport.send("http://127.0.0.1:%d/v1/batch" % port, {}, b"{}", 2)


def test_end_to_end_over_http(errors) -> None:
    with RecordingServer() as server:
        client = Letter(KEY, base_url=server.url, on_error=errors, skip_triggers=True)
        client.identify("u1", email="ada@example.com")
        client.track("u1", "E")
        assert client.close(timeout=5)
        path, headers, body = server.requests[0]
    assert path == "/v1/batch"
    lowered = {key.lower(): value for key, value in headers.items()}
    assert lowered["authorization"] == "Bearer " + KEY
    assert lowered["user-agent"] == "letterapp-python/0.1.0"
    assert json.loads(body)["skip_triggers"] is True
    assert [item["type"] for item in server.items] == ["identify", "track"]
    assert errors.calls == []
