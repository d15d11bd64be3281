"""Retries, Retry-After, non-retryable answers and rejected items."""

from __future__ import annotations

import json
from email.utils import formatdate

import pytest

from letterapp import ItemRejected, Response
from letterapp_testing import FakeTransport, error, ok


def _bounds(attempt: int) -> tuple:
    base = 0.25 * 2**attempt
    return base, base * 1.25


def test_5xx_backs_off_exponentially_then_succeeds(make_client, sleeps, errors) -> None:
    transport = FakeTransport(
        error(500, "internal_error"), error(502, "bad_gateway"), error(503, "unavailable")
    )
    client = make_client(transport, max_retries=3)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    assert len(transport.requests) == 4
    assert len({r.body for r in transport.requests}) == 1  # same body, same message_id
    assert len(sleeps.delays) == 3
    for attempt, delay in enumerate(sleeps.delays):
        low, high = _bounds(attempt)
        assert low <= delay <= high, (attempt, delay)
    assert errors.calls == []


def test_gives_up_after_max_retries_with_the_last_error(make_client, sleeps, errors) -> None:
    transport = FakeTransport(default=error(503, "unavailable", "try later"))
    client = make_client(transport, max_retries=2)
    client.track("u1", "E")
    client.track("u2", "E")
    assert client.flush(timeout=5)
    assert len(transport.requests) == 3
    assert len(sleeps.delays) == 2
    ((err, items),) = errors.calls
    assert err.status == 503 and err.code == "unavailable" and err.message == "try later"
    assert err.body == {"error": {"code": "unavailable", "message": "try later"}}
    assert [item["user_id"] for item in items] == ["u1", "u2"]


def test_max_retries_zero_means_one_attempt(make_client, sleeps, errors) -> None:
    transport = FakeTransport(default=error(500, "internal_error"))
    client = make_client(transport, max_retries=0)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    assert len(transport.requests) == 1 and sleeps.delays == []
    assert errors.codes == ["internal_error"]


def test_network_errors_are_retried(make_client, sleeps, errors) -> None:
    transport = FakeTransport(ConnectionRefusedError("refused"), TimeoutError("timed out"))
    client = make_client(transport)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    assert len(transport.requests) == 3
    assert len(sleeps.delays) == 2 and errors.calls == []


def test_network_error_reported_after_retries(make_client, sleeps, errors) -> None:
    transport = FakeTransport(default=OSError("no route to host"))
    client = make_client(transport, max_retries=1)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    ((err, items),) = errors.calls
    assert err.code == "network_error" and err.status is None
    assert "no route to host" in err.message
    assert isinstance(err.__cause__, OSError)
    assert len(items) == 1


def test_429_waits_retry_after_seconds(make_client, sleeps, errors) -> None:
    body = {"error": {"code": "rate_limited", "message": "slow down", "retryAfter": 7}}
    limited = Response(429, {"Retry-After": "7"}, json.dumps(body).encode())
    transport = FakeTransport(limited, limited)
    client = make_client(transport, max_retries=3)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    assert sleeps.delays == [7.0, 7.0]
    assert len(transport.requests) == 3 and errors.calls == []


def test_429_retry_after_from_body_or_http_date(make_client, sleeps) -> None:
    from_body = Response(
        429, {}, b'{"error": {"code": "rate_limited", "message": "x", "retryAfter": 3}}'
    )
    as_date = Response(429, {"retry-after": formatdate(usegmt=True)}, b"")  # "now": no wait
    transport = FakeTransport(from_body, as_date)
    client = make_client(transport)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    assert sleeps.delays[0] == 3.0
    assert 0.0 <= sleeps.delays[1] <= 1.0
    assert len(transport.requests) == 3


def test_429_without_retry_after_backs_off(make_client, sleeps) -> None:
    transport = FakeTransport(Response(429, {}, b""))
    client = make_client(transport)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    low, high = _bounds(0)
    assert low <= sleeps.delays[0] <= high


def test_429_gives_up_after_max_retries(make_client, sleeps, errors) -> None:
    transport = FakeTransport(default=error(429, "rate_limited", **{"Retry-After": "1"}))
    client = make_client(transport, max_retries=2)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    assert sleeps.delays == [1.0, 1.0]
    assert errors.codes == ["rate_limited"]
    assert errors.calls[0][0].status == 429


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "bad_request"),
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not_found"),
        (413, "payload_too_large"),
        (422, "bad_request"),
    ],
)
def test_other_4xx_are_not_retried(make_client, sleeps, errors, status, code) -> None:
    transport = FakeTransport(default=error(status, code, "refused"))
    client = make_client(transport)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    assert len(transport.requests) == 1
    assert sleeps.delays == []
    ((err, items),) = errors.calls
    assert (err.status, err.code, err.message) == (status, code, "refused")
    assert items[0]["user_id"] == "u1"


def test_error_without_api_body_gets_a_code_from_the_status(make_client, errors) -> None:
    transport = FakeTransport(
        Response(401, {}, b"<html>nope</html>"),
        Response(302, {"Location": "https://elsewhere.example/v1/batch"}, b""),
    )
    client = make_client(transport, max_retries=0, flush_at=1)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    client.track("u2", "E")
    assert client.flush(timeout=5)
    assert errors.codes == ["unauthorized", "http_error"]
    assert "nope" in errors.calls[0][0].message
    assert "elsewhere.example" in errors.calls[1][0].message
    assert len(transport.requests) == 2  # redirects are not followed nor retried


def test_rejected_items_reach_on_error_with_their_reason(make_client, errors) -> None:
    transport = FakeTransport(
        ok(
            accepted=2,
            rejected=[
                {"index": 1, "code": "bad_request", "message": "user_id is required"},
                {"index": 3, "code": "bad_request", "message": "event is too long"},
                {"index": 99, "code": "bad_request", "message": "out of range: ignored"},
            ],
        )
    )
    client = make_client(transport, flush_at=100, flush_interval=60)
    for i in range(4):
        client.track("u%d" % i, "E%d" % i)
    assert client.flush(timeout=5)
    assert len(transport.requests) == 1
    assert [(err.message, items[0]["user_id"]) for err, items in errors.calls] == [
        ("user_id is required", "u1"),
        ("event is too long", "u3"),
    ]
    err = errors.calls[0][0]
    assert isinstance(err, ItemRejected)
    assert err.code == "bad_request" and err.status is None
    assert (err.batch_status, err.index) == (200, 1)
    assert "item 1" in str(err) and "HTTP" not in str(err)
    assert err.body == {"error": {"code": "bad_request", "message": "user_id is required"}}


def test_on_error_that_raises_does_not_kill_the_consumer(make_client, capsys) -> None:
    def broken(err, items) -> None:
        raise RuntimeError("bug in callback")

    transport = FakeTransport(error(400, "bad_request"))
    client = make_client(transport, on_error=broken)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    client.track("u2", "E")
    assert client.flush(timeout=5)
    assert len(transport.requests) == 2
    assert "bug in callback" in capsys.readouterr().err


def test_default_on_error_prints_to_stderr(fake, capsys) -> None:
    from letterapp import Letter
    from letterapp_testing import KEY

    client = Letter(KEY, transport=FakeTransport(default=error(401, "unauthorized", "bad key")))
    try:
        client.track("u1", "E")
        assert client.flush(timeout=5)
    finally:
        client.close(timeout=5)
    err = capsys.readouterr().err
    assert "letterapp: 1 item not delivered: unauthorized (HTTP 401): bad key" in err


def test_an_unexpected_failure_reports_the_batch_and_releases_flush(make_client, errors) -> None:
    def broken_sleep(seconds: float) -> None:
        raise RuntimeError("sleep exploded")

    transport = FakeTransport(error(503, "unavailable"))
    client = make_client(transport, _sleep=broken_sleep)
    client.track("u1", "E")
    assert client.flush(timeout=5)  # does not hang
    assert errors.codes == ["internal_error"]
    assert "sleep exploded" in errors.calls[0][0].message
    assert [item["user_id"] for item in errors.items] == ["u1"]
    client.track("u2", "E")  # the consumer is still alive
    assert client.flush(timeout=5)
    assert transport.items[-1]["user_id"] == "u2"
