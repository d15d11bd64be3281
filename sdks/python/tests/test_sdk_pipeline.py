"""The batcher and the sender: the next batch is encoded while one is in flight.

Bounded (one batch in flight, one in the slot, one filled and waiting), in
order, and flush()/close() still wait for everything.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from letterapp import Response
from letterapp_testing import FakeTransport, HangingTransport, error, ok


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return condition()


class GatedTransport(FakeTransport):
    """Every send waits until ``gate`` is set; ``entered`` counts sends begun."""

    def __init__(self, *answers, **kwargs) -> None:
        super().__init__(*answers, **kwargs)
        self.gate = threading.Event()
        self.begun = 0

    def send(self, url, headers, body, timeout) -> Response:
        with self.lock:
            self.begun += 1
        self.gate.wait(30)
        return super().send(url, headers, body, timeout)


def test_both_threads_are_daemons_and_exit_on_close(make_client) -> None:
    client = make_client()
    consumer = client._consumer
    assert consumer.sender.daemon and consumer.sender.name == "letterapp-sender"
    assert consumer.sender.is_alive() and consumer.thread.is_alive()
    assert client.close(timeout=5)
    assert not consumer.sender.is_alive() and not consumer.thread.is_alive()


def test_next_batches_are_encoded_while_one_is_in_flight_and_no_more(make_client) -> None:
    transport = HangingTransport()
    client = make_client(transport, flush_at=10, flush_interval=60)
    for i in range(100):
        client.track("u%d" % i, "E")
    assert transport.entered.wait(5)  # u0-u9 in flight, the sender blocked in send()
    consumer = client._consumer
    # Two more batches are encoded meanwhile: one in the slot, one full and waiting.
    assert _until(lambda: len(consumer.queue) == 70), len(consumer.queue)
    time.sleep(0.1)
    assert len(consumer.queue) == 70 and consumer.held == 20  # and it stops there
    transport.release.set()
    assert client.flush(timeout=5)
    assert [len(r.items) for r in transport.requests] == [10] * 10
    assert [item["user_id"] for item in transport.items] == ["u%d" % i for i in range(100)]
    assert consumer.held == 0


def test_max_queue_size_counts_encoded_batches_not_yet_sent(make_client, errors) -> None:
    transport = HangingTransport()
    client = make_client(transport, flush_at=2, flush_interval=60, max_queue_size=6)
    client.track("u0", "E")
    client.track("u1", "E")
    assert transport.entered.wait(5)  # u0, u1 in flight: not counted
    for i in range(2, 6):
        client.track("u%d" % i, "E")
    assert _until(lambda: client._consumer.held == 4)  # u2-u5 encoded, not sent
    for i in range(6, 12):
        client.track("u%d" % i, "E")
    assert errors.codes == ["queue_full"] * 4
    assert [items[0]["user_id"] for _, items in errors.calls] == ["u8", "u9", "u10", "u11"]
    transport.release.set()
    assert client.flush(timeout=5)
    assert [item["user_id"] for item in transport.items] == ["u%d" % i for i in range(8)]


def test_flush_waits_for_every_batch_handed_to_the_sender(make_client) -> None:
    def slow(body: bytes) -> Response:
        time.sleep(0.02)
        return ok()

    transport = FakeTransport(default=slow)
    client = make_client(transport, flush_at=5, flush_interval=60)
    for i in range(23):
        client.track("u%d" % i, "E")
    assert client.flush(timeout=5)
    assert [len(r.items) for r in transport.requests] == [5, 5, 5, 5, 3]
    assert [item["user_id"] for item in transport.items] == ["u%d" % i for i in range(23)]


def test_flush_after_the_last_batch_left_waits_for_it(make_client) -> None:
    transport = GatedTransport()
    client = make_client(transport, flush_at=1)
    client.track("u0", "E")  # a full batch: handed to the sender before flush() is called
    assert _until(lambda: transport.begun == 1)
    assert client.flush(timeout=0.2) is False  # nothing queued, but u0 is still in flight
    transport.gate.set()
    assert client.flush(timeout=5) is True
    assert [item["user_id"] for item in transport.items] == ["u0"]


def test_order_is_kept_while_a_batch_is_retried(make_client, sleeps, errors) -> None:
    transport = FakeTransport(error(503, "unavailable"), error(503, "unavailable"))
    client = make_client(transport, flush_at=3, flush_interval=60)
    for i in range(12):
        client.track("u%d" % (i % 2), "E", properties={"i": i})
    assert client.flush(timeout=5)
    bodies = [r.body for r in transport.requests]
    assert len(bodies) == 6 and bodies[0] == bodies[1] == bodies[2]  # the same batch, retried
    delivered = [item["properties"]["i"] for r in transport.requests[2:] for item in r.items]
    assert delivered == list(range(12))
    assert len(sleeps.delays) == 2 and errors.calls == []


def test_a_partial_batch_keeps_filling_while_the_sender_is_busy(make_client) -> None:
    transport = GatedTransport()
    client = make_client(transport, flush_at=100, flush_interval=0.05)
    client.track("u0", "E")
    assert _until(lambda: transport.begun == 1)  # u0 in flight, the sender busy
    for i in range(1, 5):
        client.track("u%d" % i, "E")
    time.sleep(0.2)  # the interval passed: u1-u4 would go, but the sender is busy...
    for i in range(5, 10):
        client.track("u%d" % i, "E")
    time.sleep(0.2)
    transport.gate.set()
    assert client.flush(timeout=5)
    assert [len(r.items) for r in transport.requests] == [1, 9]  # ...so they wait together


def test_close_waits_for_the_batch_in_flight_and_the_encoded_ones(make_client, errors) -> None:
    transport = GatedTransport()
    client = make_client(transport, flush_at=2, flush_interval=60)
    for i in range(7):
        client.track("u%d" % i, "E")
    assert _until(lambda: transport.begun == 1 and client._consumer.held == 4)
    timer = threading.Timer(0.2, transport.gate.set)
    timer.start()
    try:
        assert client.close() is True
    finally:
        timer.cancel()
    assert [item["user_id"] for item in transport.items] == ["u%d" % i for i in range(7)]
    assert errors.calls == []


def test_close_timeout_reports_slot_filled_batch_and_queue(make_client, errors) -> None:
    transport = HangingTransport()
    client = make_client(transport, flush_at=2, flush_interval=60)
    for i in range(9):
        client.track("u%d" % i, "E")
    assert transport.entered.wait(5)
    # In flight u0-u1, in the slot u2-u3, filled and waiting u4-u5, queued u6-u8.
    assert _until(lambda: client._consumer.held == 4)
    assert client.close(timeout=0.2) is False
    assert len(errors.calls) == 2
    (waiting_err, waiting), (flight_err, flight) = errors.calls
    assert [item["user_id"] for item in waiting] == ["u%d" % i for i in range(2, 9)]
    assert waiting_err.code == "client_closed" and "timed out" in waiting_err.message
    assert [item["user_id"] for item in flight] == ["u0", "u1"]
    assert flight_err.code == "client_closed" and "unknown" in flight_err.message
    transport.release.set()
    client._consumer.sender.join(5)
    client._consumer.thread.join(5)
    assert not client._consumer.sender.is_alive() and not client._consumer.thread.is_alive()
    assert len(errors.calls) == 2  # nothing reported twice, nothing more sent
    assert [item["user_id"] for item in transport.items] == ["u0", "u1"]


def test_on_error_is_called_by_one_thread_at_a_time(make_client) -> None:
    inside = []
    overlaps = []
    first_entered = threading.Event()

    def on_error(err, items) -> None:
        if inside:
            overlaps.append(err.code)
        inside.append(err.code)
        try:
            if err.code == "bad_request" and items and items[0]["user_id"] == "u0":
                first_entered.set()
                time.sleep(0.3)  # the sender's report is still running...
        finally:
            inside.pop()

    transport = FakeTransport(error(400, "bad_request"))
    client = make_client(transport, on_error=on_error, flush_at=1)
    client.track("u0", "E")  # rejected by the server: reported on the sender
    assert first_entered.wait(5)
    client.track("u1", "E", properties={"obj": object()})  # refused by the batcher meanwhile
    assert client.flush(timeout=5)
    assert overlaps == []  # ...and the batcher's waited for it


def test_a_bad_item_does_not_hold_up_the_sender(make_client, errors, fake) -> None:
    client = make_client(fake, flush_at=2, flush_interval=60)
    client.track("u0", "E", properties={"obj": object()})
    client.track("u1", "E")
    client.track("u2", "E")
    assert client.flush(timeout=5)
    assert errors.codes == ["bad_request"]
    assert [len(r.items) for r in fake.requests] == [2]
    assert client._consumer.held == 0


def test_close_timeout_reports_the_queue_once_even_while_the_batcher_wakes(
    make_client, errors, monkeypatch
) -> None:
    import letterapp._consumer as consumer_module

    transport = HangingTransport()
    client = make_client(transport, flush_at=2, flush_interval=60)
    for i in range(9):
        client.track("u%d" % i, "E")
    assert transport.entered.wait(5)
    assert _until(lambda: client._consumer.held == 4)
    to_wire = consumer_module.to_wire

    def slow_to_wire(entry):
        time.sleep(0.05)  # the batcher, woken by close(), runs meanwhile
        return to_wire(entry)

    monkeypatch.setattr(consumer_module, "to_wire", slow_to_wire)
    assert client.close(timeout=0.2) is False
    time.sleep(0.3)  # the batcher, woken by close(), runs its own abandon() meanwhile
    waiting = [item["user_id"] for err, items in errors.calls for item in items]
    assert waiting == ["u%d" % i for i in range(2, 9)] + ["u0", "u1"]
    assert len(errors.calls) == 2
    transport.release.set()
