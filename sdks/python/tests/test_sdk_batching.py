"""Batching by count, time and size; per-message limits; the bounded queue; flush."""

from __future__ import annotations

import json
import threading
import time

from letterapp import Response
from letterapp._messages import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from letterapp_testing import FakeTransport, HangingTransport


def test_batches_by_count_without_waiting_for_the_interval(make_client, fake) -> None:
    client = make_client(fake, flush_at=10, flush_interval=60)
    for i in range(25):
        client.track("u%d" % i, "E")
    assert fake.wait_for(2, timeout=5)  # two full batches go out on their own...
    time.sleep(0.05)
    assert [len(r.items) for r in fake.requests] == [10, 10]  # ...the partial one waits
    assert client.flush(timeout=5)
    assert [len(r.items) for r in fake.requests] == [10, 10, 5]
    assert [item["user_id"] for item in fake.items] == ["u%d" % i for i in range(25)]


def test_partial_batch_is_sent_after_flush_interval(make_client, fake) -> None:
    client = make_client(fake, flush_at=100, flush_interval=0.15)
    started = time.monotonic()
    for i in range(3):
        client.track("u%d" % i, "E")
    assert fake.wait_for(1, timeout=5)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.14, elapsed
    assert [len(r.items) for r in fake.requests] == [3]
    assert client._consumer.queue == type(client._consumer.queue)()


def test_flush_interval_zero_sends_without_delay(make_client, fake) -> None:
    client = make_client(fake, flush_at=100, flush_interval=0)
    client.track("u1", "E")
    assert fake.wait_for(1, timeout=2)


def test_batches_stay_under_475_kb(make_client, fake) -> None:
    client = make_client(fake, flush_at=1000, flush_interval=60)
    blob = "x" * 20_000  # ~20 KB an item: about 23 fit in a batch
    for i in range(60):
        client.track("u%d" % i, "E", properties={"blob": blob})
    assert client.flush(timeout=5)
    sizes = [len(r.body) for r in fake.requests]
    assert len(sizes) == 3, sizes
    assert all(size <= MAX_BATCH_BYTES for size in sizes), sizes
    item_size = len(json.dumps(fake.items[0], separators=(",", ":")))
    assert all(size + item_size > MAX_BATCH_BYTES for size in sizes[:-1])  # batches are full
    assert [item["user_id"] for item in fake.items] == ["u%d" % i for i in range(60)]


def test_message_over_32_kb_goes_to_on_error_and_is_not_sent(make_client, fake, errors) -> None:
    client = make_client(fake)
    client.track("u1", "Small")
    client.track("u2", "Big", properties={"blob": "x" * MAX_MESSAGE_BYTES})
    client.track("u3", "Small")
    assert client.flush(timeout=5)
    assert [item["user_id"] for item in fake.items] == ["u1", "u3"]
    assert errors.codes == ["payload_too_large"]
    (err, items) = errors.calls[0]
    assert items[0]["user_id"] == "u2" and items[0]["event"] == "Big"
    assert "32768" in err.message and err.status is None


def test_message_just_under_32_kb_is_sent(make_client, fake, errors) -> None:
    client = make_client(fake)
    client.track("u1", "E", properties={"blob": "x" * (MAX_MESSAGE_BYTES - 200)})
    assert client.flush(timeout=5)
    assert len(fake.items) == 1 and errors.calls == []


def test_unserialisable_values_go_to_on_error_alone(make_client, fake, errors) -> None:
    client = make_client(fake)
    client.track("u1", "E", properties={"obj": object()})
    client.track("u2", "E", properties={"nan": float("nan")})
    client.track("u3", "E", properties={"ok": True})
    assert client.flush(timeout=5)
    assert [item["user_id"] for item in fake.items] == ["u3"]
    assert errors.codes == ["bad_request", "bad_request"]
    assert [items[0]["user_id"] for _, items in errors.calls] == ["u1", "u2"]


def test_full_queue_goes_to_on_error_and_never_blocks(make_client, errors) -> None:
    transport = HangingTransport()
    client = make_client(transport, flush_at=1, max_queue_size=5)
    client.track("u0", "E")  # taken by the consumer, which then hangs in send()
    assert transport.entered.wait(5)
    started = time.monotonic()
    for i in range(1, 9):
        client.track("u%d" % i, "E")
    assert time.monotonic() - started < 0.5
    assert errors.codes == ["queue_full"] * 3
    assert [items[0]["user_id"] for _, items in errors.calls] == ["u6", "u7", "u8"]
    assert "max_queue_size=5" in errors.calls[0][0].message
    assert errors.calls[0][1][0]["message_id"]  # the item, with its id, for a later resend
    transport.release.set()
    assert client.flush(timeout=5)
    assert [item["user_id"] for item in transport.items] == ["u%d" % i for i in range(6)]


def test_flush_waits_until_the_request_settled(make_client) -> None:
    gate = threading.Event()

    def slow(body: bytes) -> Response:
        gate.wait(5)
        return Response(200, {}, b"{}")

    transport = FakeTransport(default=slow)
    client = make_client(transport, flush_at=100, flush_interval=60)
    client.track("u1", "E")
    assert client.flush(timeout=0.1) is False  # the request is still in flight
    gate.set()
    assert client.flush(timeout=5) is True
    assert len(transport.requests) == 1


def test_flush_with_nothing_queued_returns_at_once(make_client, fake) -> None:
    client = make_client(fake)
    started = time.monotonic()
    assert client.flush() is True
    assert time.monotonic() - started < 0.5
    assert fake.requests == []


def test_serverless_mode_flush_at_one(make_client, fake) -> None:
    client = make_client(fake, flush_at=1)
    for i in range(3):
        client.track("u%d" % i, "Checkout Started")
        assert client.flush(timeout=5)
        assert len(fake.requests) == i + 1  # sent by the end of each "handler"
    assert [len(r.items) for r in fake.requests] == [1, 1, 1]


def test_concurrent_callers_lose_nothing(make_client, fake) -> None:
    client = make_client(fake, flush_at=50)

    def worker(n: int) -> None:
        for i in range(500):
            client.track("t%d" % n, "E", properties={"i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.flush(timeout=5)
    assert len(fake.items) == 2000
    assert all(len(r.items) <= 50 for r in fake.requests)
    for n in range(4):
        mine = [item["properties"]["i"] for item in fake.items if item["user_id"] == "t%d" % n]
        assert mine == list(range(500))  # per-thread order is kept


def test_interval_follows_the_injected_clock(make_client, fake) -> None:
    now = [1000.0]

    def clock() -> float:
        now[0] += 100.0  # every reading is 100 s later: the 60 s interval passes at once
        return now[0]

    client = make_client(fake, flush_at=100, flush_interval=60, _clock=clock)
    client.track("u1", "E")
    assert fake.wait_for(1, timeout=2)  # sent without flush() and without waiting 60 s
    assert [len(r.items) for r in fake.requests] == [1]
