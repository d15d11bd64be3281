"""The background threads that turn queued calls into ``/v1/batch`` requests.

The caller's thread only appends tuples to :attr:`Consumer.queue` (a
``collections.deque``; ``append``/``popleft`` are atomic) and wakes the
consumer when there is enough work for it. Everything else happens on two
threads of the consumer, a pipeline of two stages:

- the *batcher* (``letterapp-consumer``) takes the calls off the queue,
  encodes them to JSON, checks their sizes and fills a batch; a complete
  batch is handed to the sender through a slot that holds one batch;
- the *sender* (``letterapp-sender``) takes the batch in the slot and
  delivers it: HTTP, retries, error reporting.

So the next batch is encoded while the previous one is in flight, and memory
stays flat: at most one batch in flight, one in the slot and one being
filled (the batcher waits while the slot is taken). Batches leave in the
order they were filled, one at a time, so items keep the order of the calls.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import threading
import time
import traceback
from collections import deque
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Deque, List, Mapping, Optional, Union

from ._errors import ItemRejected, LetterError
from ._messages import (
    ENVELOPE_BYTES,
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    Item,
    WireItem,
    batch_body,
    make_encoder,
    to_wire,
)
from ._transport import Response, Transport

OnError = Callable[[LetterError, List[WireItem]], Any]
Sleep = Callable[[float], Any]
Clock = Callable[[], float]

#: First retry waits BACKOFF_BASE seconds, then doubles, plus up to 25 % jitter.
BACKOFF_BASE = 0.25
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 60.0
#: ``wake_at`` while the batcher waits for the slot: callers never need to wake it then.
_NEVER = sys.maxsize

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
}


class FlushRequest:
    """A marker put in the queue by ``flush()``; set once everything before it settled."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


QueueEntry = Union[Item, FlushRequest]


def report(on_error: OnError, error: LetterError, items: List[WireItem]) -> None:
    """Call ``on_error`` and never let its exception escape."""
    try:
        on_error(error, items)
    except Exception:
        try:
            sys.stderr.write("letterapp: on_error callback raised:\n")
            traceback.print_exc()
        except Exception:  # pragma: no cover - stderr is gone
            pass


def backoff_delay(attempt: int) -> float:
    """Wait before retry number ``attempt + 1``: 0.25 s x 2^attempt, +0-25 % jitter."""
    base: float = min(BACKOFF_BASE * (2**attempt), BACKOFF_CAP)
    return base * (1.0 + 0.25 * random.random())


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def retry_after(response: Response) -> Optional[float]:
    """Seconds to wait from a 429's ``Retry-After`` header (or body ``retryAfter``)."""
    seconds: Optional[float] = None
    raw = response.header("Retry-After")
    if raw:
        raw = raw.strip()
        try:
            seconds = float(raw)
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                seconds = when.timestamp() - time.time()
    if seconds is None:
        data = _parse_json(response.body)
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            value = data["error"].get("retryAfter")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                seconds = float(value)
    if seconds is None or seconds != seconds:  # missing or NaN
        return None
    return max(0.0, min(seconds, RETRY_AFTER_CAP))


def http_error(response: Response) -> LetterError:
    """A :class:`LetterError` for a non-2xx answer, keeping the API's error body."""
    status = response.status
    data = _parse_json(response.body)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        code = error.get("code")
        message = error.get("message")
        if isinstance(code, str) and isinstance(message, str):
            return LetterError(message, status=status, body=data)
    code = _STATUS_CODES.get(status, "internal_error" if status >= 500 else "http_error")
    text = response.body[:200].decode("utf-8", "replace").strip()
    message = "HTTP %d%s" % (status, (": " + text) if text else "")
    location = response.header("Location")
    if location:
        message += " (redirect to %s; set base_url to the final address)" % location
    return LetterError(message, code=code, status=status)


class Batch:
    """A batch being filled, waiting in the slot, or taken by the sender.

    ``taken`` (read and written under the consumer's lock) says the batcher
    no longer owns it: the sender took it, or a timed-out ``close()``
    reported its items.
    """

    __slots__ = ("body", "flushes", "payloads", "size", "taken", "wires")

    def __init__(self) -> None:
        self.wires: List[WireItem] = []
        self.payloads: List[bytes] = []
        self.size = ENVELOPE_BYTES - 1  # every item adds its length + 1 comma, but the first
        self.flushes: List[FlushRequest] = []
        self.body = b""
        self.taken = False


class Consumer:
    """Owns the queue and the two background threads of one :class:`~letterapp.Letter`.

    It holds no reference to the client, so the client can be garbage
    collected while the threads run.
    """

    def __init__(
        self,
        *,
        url: str,
        headers: Mapping[str, str],
        transport: Transport,
        timeout: float,
        flush_at: int,
        flush_interval: float,
        max_retries: int,
        skip_triggers: bool,
        on_error: OnError,
        sleep: Optional[Sleep] = None,
        clock: Optional[Clock] = None,
        close_transport: bool = False,
    ) -> None:
        self.url = url
        self.headers = dict(headers)
        self.transport = transport
        self.timeout = timeout
        self.flush_at = flush_at
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self.skip_triggers = skip_triggers
        self.on_error = on_error
        self.clock: Clock = clock if clock is not None else time.monotonic
        #: Close the transport when the sender exits (it is the client's own).
        self.close_transport = close_transport
        self.queue: Deque[QueueEntry] = deque()
        #: JSON encoding for the batcher thread (it alone uses it).
        self._encode = make_encoder()
        #: Items taken off the queue into batches not yet in flight (callers add
        #: it to len(queue) against max_queue_size). Written under the lock.
        self.held = 0
        #: Set by callers when len(queue) reaches wake_at, by flush(), stop(),
        #: and by the sender when it becomes free while the batcher waits for it.
        self.wake = threading.Event()
        #: How many queued items make it worth waking the batcher (read by callers).
        self.wake_at = 1
        #: Drain what is queued, then exit.
        self.stopping = False
        #: Give up now: no new requests, retries cut short.
        self.aborted = threading.Event()
        self.sleep: Sleep = sleep if sleep is not None else self.aborted.wait
        self._lock = threading.Lock()
        #: Notified when the slot is filled or emptied, and when the batcher exits.
        self._changed = threading.Condition(self._lock)
        self._building: Optional[Batch] = None
        self._ready: Optional[Batch] = None  # the slot
        self._in_flight: Optional[List[WireItem]] = None
        self._sender_idle = True
        self._waiting_for_sender = False
        self._batcher_done = False
        #: on_error is called by one background thread at a time.
        self._report_lock = threading.RLock()
        self.thread = threading.Thread(target=self._run, name="letterapp-consumer", daemon=True)
        self.sender = threading.Thread(target=self._send, name="letterapp-sender", daemon=True)

    # -- control, called from other threads -------------------------------

    def start(self) -> None:
        self.sender.start()
        self.thread.start()

    def stop(self) -> None:
        """Ask the threads to send what is queued and exit (does not wait)."""
        self.stopping = True
        self.wake.set()

    def _on_our_thread(self) -> bool:
        current = threading.current_thread()
        return current is self.thread or current is self.sender

    def flush(self, timeout: Optional[float]) -> bool:
        if self._on_our_thread():
            return False  # called from on_error: cannot wait for ourselves
        request = FlushRequest()
        self.queue.append(request)
        self.wake.set()
        if not self.thread.is_alive() or not self.sender.is_alive():
            self.abandon("the client is no longer running")
        return request.done.wait(timeout)

    def shutdown(self, timeout: Optional[float]) -> bool:
        """Send what is queued and stop the threads, waiting up to ``timeout``.

        Returns ``True`` when everything was settled. On timeout, the items
        still waiting (queued or encoded) and any request still in flight go
        to ``on_error``.
        """
        self.stop()
        if self._on_our_thread():
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in (self.thread, self.sender):
            if thread.is_alive():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if not self.thread.is_alive() and not self.sender.is_alive():
            return not self.abandon("the client was closed before these items were sent")
        self.aborted.set()
        self.wake.set()
        left = self.abandon("close() timed out before these items were sent")
        with self._lock:
            in_flight, self._in_flight = self._in_flight, None
        if in_flight:
            report(
                self.on_error,
                LetterError(
                    "close() timed out while these items were being sent; "
                    "their delivery is unknown",
                    code="client_closed",
                ),
                in_flight,
            )
        return not left and not in_flight

    def abandon(self, reason: str) -> bool:
        """Hand every item not yet in flight to ``on_error``; release flush waiters.

        That is the batch in the slot, the batch being filled and the queue,
        in this order (the order of the calls), in one ``on_error`` call.
        Returns ``True`` if any item was abandoned.
        """
        items: List[WireItem] = []
        flushes: List[FlushRequest] = []
        entries: List[QueueEntry] = []
        queue = self.queue
        with self._lock:  # all at once: a second abandon() (the batcher's) finds nothing
            for batch in (self._ready, self._building):
                if batch is not None and not batch.taken:
                    batch.taken = True
                    items.extend(batch.wires)
                    flushes.extend(batch.flushes)
                    self.held -= len(batch.wires)
            self._ready = self._building = None
            while True:
                try:
                    entries.append(queue.popleft())
                except IndexError:
                    break
            self._changed.notify_all()
        for entry in entries:
            if isinstance(entry, FlushRequest):
                flushes.append(entry)
                continue
            try:
                items.append(to_wire(entry))
            except Exception:
                items.append({"type": entry[0], "user_id": repr(entry[1])})
        if items:
            self._report(LetterError(reason, code="client_closed"), items)
        for request in flushes:
            request.done.set()
        return bool(items)

    def _report(self, error: LetterError, items: List[WireItem]) -> None:
        """``report``, one background thread at a time (never blocks another caller)."""
        if self._on_our_thread():
            with self._report_lock:
                report(self.on_error, error, items)
        else:
            report(self.on_error, error, items)

    # -- the batcher ------------------------------------------------------

    def _run(self) -> None:
        queue = self.queue
        wake = self.wake
        try:
            while not self.aborted.is_set():
                if not queue:
                    if self.stopping:
                        break
                    self.wake_at = 1
                    wake.clear()
                    if not queue and not self.stopping:
                        wake.wait()
                    continue
                self._fill()
            if self.aborted.is_set():
                self.abandon("close() timed out before these items were sent")
        finally:
            with self._lock:
                self._batcher_done = True
                self._changed.notify_all()
            # This thread is the consumer's lifetime: it ends when everything has left.
            if self.sender.is_alive():
                self.sender.join()

    def _fill(self) -> None:
        """Fill one batch and hand it to the sender."""
        batch = Batch()
        with self._lock:
            self._building = batch
        try:
            self._collect(batch)
            if batch.payloads:
                batch.body = batch_body(batch.payloads, self.skip_triggers)
                batch.payloads = []  # the body holds them now
            self._hand_off(batch)
        except Exception as exc:  # a bug (or a raising injected clock): never lose silently
            with self._lock:
                mine = not batch.taken
                batch.taken = True
                if self._building is batch:
                    self._building = None
                if mine:
                    self.held -= len(batch.wires)
            self._report(
                LetterError("letterapp internal error: %r" % (exc,), code="internal_error"),
                batch.wires if mine else [],
            )
            if mine:
                for request in batch.flushes:
                    request.done.set()
        finally:
            self._waiting_for_sender = False

    def _collect(self, batch: Batch) -> None:
        """Fill ``batch``: until flush_at items, 475 KB, a flush() marker, or the interval.

        Once the interval has passed, a partial batch leaves as soon as the
        sender is free; while it is busy, the batch keeps filling (it could
        not leave sooner anyway).
        """
        queue = self.queue
        flush_at = self.flush_at
        lock = self._lock
        encode = self._encode
        wires = batch.wires
        payloads = batch.payloads
        deadline = self.clock() + self.flush_interval
        while True:
            full = False
            while len(payloads) < flush_at:
                try:
                    entry = queue.popleft()
                except IndexError:
                    break
                if isinstance(entry, FlushRequest):
                    with lock:
                        if not batch.taken:
                            batch.flushes.append(entry)
                            return
                    entry.done.set()  # close() timed out and took the batch
                    return
                wire: Optional[WireItem] = None
                try:
                    wire = to_wire(entry)
                    payload = encode(wire)
                except Exception as exc:
                    self._report(
                        LetterError(
                            "message could not be encoded as JSON: %s" % (exc,),
                            code="bad_request",
                        ),
                        [wire] if wire is not None else [],
                    )
                    continue
                length = len(payload)
                if length > MAX_MESSAGE_BYTES:
                    self._report(
                        LetterError(
                            "message is %d bytes when encoded; the limit is %d bytes"
                            % (length, MAX_MESSAGE_BYTES),
                            code="payload_too_large",
                        ),
                        [wire],
                    )
                    continue
                if batch.size + length + 1 > MAX_BATCH_BYTES:
                    queue.appendleft(entry)  # first item of the next batch
                    full = True
                    break
                with lock:
                    taken = batch.taken
                    if not taken:
                        wires.append(wire)
                        payloads.append(payload)
                        batch.size += length + 1
                        self.held += 1
                if taken:  # close() timed out and took the batch: this item is ours to report
                    self._report(
                        LetterError(
                            "the client was closed before these items were sent",
                            code="client_closed",
                        ),
                        [wire],
                    )
                    return
            if full or len(payloads) >= flush_at or self.stopping or self.aborted.is_set():
                return
            if not payloads and not queue:
                return  # everything taken was refused: nothing to send
            remaining = deadline - self.clock()
            timeout: Optional[float] = remaining
            if remaining <= 0:
                if self._sender_idle:
                    return
                timeout = None  # until the sender is free, or the batch is full
                self._waiting_for_sender = True
            self.wake_at = flush_at - len(payloads)
            self.wake.clear()
            if len(queue) >= self.wake_at or self.stopping or self.aborted.is_set():
                continue
            if timeout is None and self._sender_idle:
                continue
            self.wake.wait(timeout)

    def _hand_off(self, batch: Batch) -> None:
        """Put ``batch`` in the slot, once the sender took the previous one."""
        with self._lock:
            if batch.taken:
                return
            if not batch.wires and not batch.flushes:
                self._building = None
                return
            while self._ready is not None and not batch.taken and not self.aborted.is_set():
                self.wake_at = _NEVER
                self._changed.wait()
            if batch.taken or self.aborted.is_set():
                return  # reported by close(), or left for abandon()
            self._ready = batch
            self._building = None
            self._sender_idle = False  # it is about to take it
            self._changed.notify_all()

    # -- the sender -------------------------------------------------------

    def _send(self) -> None:
        lock = self._lock
        try:
            while True:
                with lock:
                    while self._ready is None:
                        if self._batcher_done or self.aborted.is_set():
                            return
                        self._sender_idle = True
                        if self._waiting_for_sender:
                            self.wake.set()
                        self._changed.wait()
                    batch = self._ready
                    self._ready = None
                    batch.taken = True
                    self._sender_idle = False
                    self.held -= len(batch.wires)
                    if batch.wires:
                        self._in_flight = batch.wires
                    self._changed.notify_all()
                try:
                    if batch.wires:
                        self._deliver(batch.wires, batch.body)
                except Exception as exc:  # a bug (or a raising injected sleep)
                    self._report(
                        LetterError("letterapp internal error: %r" % (exc,), code="internal_error"),
                        batch.wires if self._settle() else [],
                    )
                finally:
                    for request in batch.flushes:
                        request.done.set()
        finally:
            if self.close_transport:
                close = getattr(self.transport, "close", None)
                if callable(close):
                    with contextlib.suppress(Exception):
                        close()

    def _settle(self) -> bool:
        """Take back ownership of the in-flight items (False if close() reported them)."""
        with self._lock:
            mine = self._in_flight is not None
            self._in_flight = None
        return mine

    def _deliver(self, wires: List[WireItem], body: bytes) -> None:
        attempt = 0
        while True:
            if self.aborted.is_set():
                if self._settle():
                    self._report(
                        LetterError(
                            "the client was closed before these items were sent",
                            code="client_closed",
                        ),
                        wires,
                    )
                return
            delay: Optional[float] = None
            try:
                response = self.transport.send(self.url, self.headers, body, self.timeout)
                status = int(response.status)
            except Exception as exc:
                error = LetterError("network error: %s" % (exc,), code="network_error")
                error.__cause__ = exc
                delay = backoff_delay(attempt)
            else:
                if 200 <= status < 300:
                    if self._settle():
                        self._report_rejected(response, wires)
                    return
                error = http_error(response)
                if status == 429:
                    delay = retry_after(response)
                    if delay is None:
                        delay = backoff_delay(attempt)
                elif status >= 500:
                    delay = backoff_delay(attempt)
            if delay is None or attempt >= self.max_retries or self.aborted.is_set():
                if self._settle():
                    self._report(error, wires)
                return
            self.sleep(delay)
            attempt += 1

    def _report_rejected(self, response: Response, wires: List[WireItem]) -> None:
        data = _parse_json(response.body)
        if not isinstance(data, dict):
            return
        rejected = data.get("rejected")
        if not isinstance(rejected, list):
            return
        for entry in rejected:
            if not isinstance(entry, dict):
                continue
            index = entry.get("index")
            if not isinstance(index, int) or not 0 <= index < len(wires):
                continue
            code = entry.get("code")
            message = entry.get("message")
            code = code if isinstance(code, str) else "bad_request"
            message = message if isinstance(message, str) else "item rejected"
            rejected_item = ItemRejected(
                message, code=code, batch_status=response.status, index=index
            )
            self._report(rejected_item, [wires[index]])
