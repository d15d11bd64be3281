"""The background thread that turns queued calls into ``/v1/batch`` requests.

The caller's thread only appends tuples to :attr:`Consumer.queue` (a
``collections.deque``; ``append``/``popleft`` are atomic) and wakes the
consumer when there is enough work for it. Everything else — JSON encoding,
size checks, batching, HTTP, retries, error reporting — happens here.
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
    encode,
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
#: ``wake_at`` while a request is in flight: callers never need to wake us then.
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


class Consumer:
    """Owns the queue and the background thread of one :class:`~letterapp.Letter`.

    It holds no reference to the client, so the client can be garbage
    collected while the thread runs.
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
        #: Close the transport when the thread exits (it is the client's own).
        self.close_transport = close_transport
        self.queue: Deque[QueueEntry] = deque()
        #: Set by callers when len(queue) reaches wake_at, by flush() and by stop().
        self.wake = threading.Event()
        #: How many queued items make it worth waking the thread (read by callers).
        self.wake_at = 1
        #: Drain what is queued, then exit.
        self.stopping = False
        #: Give up now: no new requests, retries cut short.
        self.aborted = threading.Event()
        self.sleep: Sleep = sleep if sleep is not None else self.aborted.wait
        self._lock = threading.Lock()
        self._in_flight: Optional[List[WireItem]] = None
        self.thread = threading.Thread(target=self._run, name="letterapp-consumer", daemon=True)

    # -- control, called from other threads -------------------------------

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Ask the thread to send what is queued and exit (does not wait)."""
        self.stopping = True
        self.wake.set()

    def flush(self, timeout: Optional[float]) -> bool:
        if threading.current_thread() is self.thread:
            return False  # called from on_error: cannot wait for ourselves
        request = FlushRequest()
        self.queue.append(request)
        self.wake.set()
        if not self.thread.is_alive():
            self.abandon("the client is no longer running")
        return request.done.wait(timeout)

    def shutdown(self, timeout: Optional[float]) -> bool:
        """Send what is queued and stop the thread, waiting up to ``timeout``.

        Returns ``True`` when everything was settled. On timeout, the items
        still queued (and any request still in flight) go to ``on_error``.
        """
        self.stop()
        if threading.current_thread() is self.thread:
            return False
        if self.thread.is_alive():
            self.thread.join(timeout)
        if not self.thread.is_alive():
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
        """Hand every queued item to ``on_error``; release flush waiters.

        Returns ``True`` if any item was abandoned.
        """
        items: List[WireItem] = []
        flushes: List[FlushRequest] = []
        queue = self.queue
        while True:
            try:
                entry = queue.popleft()
            except IndexError:
                break
            if isinstance(entry, FlushRequest):
                flushes.append(entry)
                continue
            try:
                items.append(to_wire(entry))
            except Exception:
                items.append({"type": entry[0], "user_id": repr(entry[1])})
        if items:
            report(self.on_error, LetterError(reason, code="client_closed"), items)
        for request in flushes:
            request.done.set()
        return bool(items)

    # -- the thread -------------------------------------------------------

    def _run(self) -> None:
        queue = self.queue
        wake = self.wake
        while not self.aborted.is_set():
            if not queue:
                if self.stopping:
                    break
                self.wake_at = 1
                wake.clear()
                if not queue and not self.stopping:
                    wake.wait()
                continue
            try:
                self._run_batch()
            except Exception as exc:  # defensive: the thread must survive anything
                report(
                    self.on_error,
                    LetterError("letterapp internal error: %r" % (exc,), code="internal_error"),
                    [],
                )
        if self.aborted.is_set():
            self.abandon("close() timed out before these items were sent")
        if self.close_transport:
            close = getattr(self.transport, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()

    def _run_batch(self) -> None:
        wires: List[WireItem] = []
        payloads: List[bytes] = []
        flushes: List[FlushRequest] = []
        delivering = False
        try:
            self._collect(wires, payloads, flushes)
            self.wake_at = _NEVER
            if payloads:
                delivering = True
                self._deliver(wires, payloads)
        except Exception as exc:  # a bug (or a raising injected sleep): never lose silently
            lost = wires if not delivering or self._settle() else []
            report(
                self.on_error,
                LetterError("letterapp internal error: %r" % (exc,), code="internal_error"),
                lost,
            )
        finally:
            self.wake_at = _NEVER
            for request in flushes:
                request.done.set()

    def _collect(
        self, wires: List[WireItem], payloads: List[bytes], flushes: List[FlushRequest]
    ) -> None:
        """Fill one batch: until flush_at items, 475 KB, a flush() marker, or the interval."""
        queue = self.queue
        flush_at = self.flush_at
        size = ENVELOPE_BYTES - 1  # every item adds its length + 1 comma, but the first
        deadline = self.clock() + self.flush_interval
        full = False
        while True:
            while len(payloads) < flush_at:
                try:
                    entry = queue.popleft()
                except IndexError:
                    break
                if isinstance(entry, FlushRequest):
                    flushes.append(entry)
                    break
                wire: Optional[WireItem] = None
                try:
                    wire = to_wire(entry)
                    payload = encode(wire)
                except Exception as exc:
                    report(
                        self.on_error,
                        LetterError(
                            "message could not be encoded as JSON: %s" % (exc,),
                            code="bad_request",
                        ),
                        [wire] if wire is not None else [],
                    )
                    continue
                length = len(payload)
                if length > MAX_MESSAGE_BYTES:
                    report(
                        self.on_error,
                        LetterError(
                            "message is %d bytes when encoded; the limit is %d bytes"
                            % (length, MAX_MESSAGE_BYTES),
                            code="payload_too_large",
                        ),
                        [wire],
                    )
                    continue
                if size + length + 1 > MAX_BATCH_BYTES:
                    queue.appendleft(entry)  # first item of the next batch
                    full = True
                    break
                wires.append(wire)
                payloads.append(payload)
                size += length + 1
            if full or flushes or len(payloads) >= flush_at or self.stopping:
                break
            if self.aborted.is_set():
                break
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            self.wake_at = flush_at - len(payloads)
            self.wake.clear()
            if len(queue) >= self.wake_at or self.stopping:
                continue
            self.wake.wait(remaining)

    def _settle(self) -> bool:
        """Take back ownership of the in-flight items (False if close() reported them)."""
        with self._lock:
            mine = self._in_flight is not None
            self._in_flight = None
        return mine

    def _deliver(self, wires: List[WireItem], payloads: List[bytes]) -> None:
        body = batch_body(payloads, self.skip_triggers)
        with self._lock:
            self._in_flight = wires
        attempt = 0
        while True:
            if self.aborted.is_set():
                if self._settle():
                    report(
                        self.on_error,
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
                    report(self.on_error, error, wires)
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
            report(self.on_error, rejected_item, [wires[index]])
