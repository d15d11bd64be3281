"""The :class:`Letter` client."""

from __future__ import annotations

import atexit
import contextlib
import functools
import math
import os
import re
import sys
import threading
import time
import weakref
from datetime import date, datetime
from types import TracebackType
from typing import Any, Callable, Dict, List, Mapping, Optional, Type, Union
from urllib.parse import urlsplit

from ._consumer import Clock, Consumer, OnError, Sleep, report
from ._errors import LetterError
from ._messages import GROUP, IDENTIFY, TRACK, Item, WireItem, to_wire
from ._transport import Transport, UrllibTransport
from ._version import __version__

__all__ = ["Letter"]

DEFAULT_BASE_URL = "https://api.letter.app"
USER_AGENT = "letterapp-python/" + __version__

_API_KEY = re.compile(r"lt_live_[0-9a-fA-F]{48}")

Id = Union[str, int]
Timestamp = Union[datetime, date, str]

#: Every client that may need a fresh consumer after ``os.fork()``.
_clients: weakref.WeakSet[Letter] = weakref.WeakSet()


def _default_on_error(error: LetterError, items: List[WireItem]) -> None:
    """Print one line to stderr per failure (the default ``on_error``)."""
    with contextlib.suppress(Exception):  # stderr may be gone at shutdown
        sys.stderr.write(
            "letterapp: %d item%s not delivered: %s\n"
            % (len(items), "" if len(items) == 1 else "s", error)
        )


def _config_error(message: str, code: str = "bad_request") -> LetterError:
    return LetterError(message, code=code)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _config_error("%s must be an integer >= %d, got %r" % (name, minimum, value))
    return value


def _check_seconds(name: str, value: Any, allow_zero: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise _config_error("%s must be a number of seconds %s, got %r" % (name, bound, value))
    return float(value)


def _bad_argument(name: str, expected: str, value: Any) -> LetterError:
    return LetterError("%s must be %s, got %r" % (name, expected, value), code="bad_request")


def _as_id(name: str, value: Any) -> str:
    """Slow path for ids that are not non-empty strings: accept ints, refuse the rest."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _bad_argument(name, "a non-empty string", value)


def _as_dict(name: str, value: Any) -> Dict[str, Any]:
    """Slow path for traits/properties that are not plain dicts."""
    if isinstance(value, Mapping):
        return dict(value)
    raise _bad_argument(name, "a dict", value)


def _check_optional(timestamp: Any, message_id: Any) -> None:
    if timestamp is not None and not isinstance(timestamp, (datetime, date, str)):
        raise _bad_argument("timestamp", "a datetime or an ISO-8601 string", timestamp)
    if message_id is not None and (type(message_id) is not str or not message_id):
        raise _bad_argument("message_id", "a non-empty string", message_id)


def _close_at_exit(ref: weakref.ReferenceType[Letter]) -> None:
    client = ref()
    if client is not None and not client._closed:
        client.close(timeout=client._timeout)


def _collected(consumer: Consumer, hook: Callable[[], None]) -> None:
    """The client was garbage collected: let its threads drain and exit.

    Its threads are daemons, so interpreter exit waits for them like for a live
    client (``_drain_at_exit``); otherwise a client local to ``main()`` would
    lose its queue silently.
    """
    consumer.stop()
    atexit.unregister(hook)
    _draining.add(consumer)


def _drain_at_exit() -> None:
    for consumer in list(_draining):
        consumer.shutdown(consumer.timeout)


#: Consumers of collected clients whose thread still runs (it keeps them alive).
_draining: weakref.WeakSet[Consumer] = weakref.WeakSet()
atexit.register(_drain_at_exit)


def _after_fork_in_child() -> None:
    _draining.clear()  # the parent's threads do not exist here; its queues stay its own
    for client in list(_clients):
        client._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Letter:
    """Client for the Letter Ingestion API.

    Calls are queued and sent in batches to ``POST /v1/batch`` by two
    background threads (one encodes the next batch while the other sends
    the previous one, over a connection kept open), so they return
    immediately and never do I/O on your thread::

        import os
        from letterapp import Letter

        letter = Letter(api_key=os.environ["LETTER_API_KEY"])
        letter.identify(user_id="u_1", email="ada@example.com", traits={"plan": "free"})
        letter.group(user_id="u_1", account_id="w_1", name="Acme", traits={"mrr": 49})
        letter.track(user_id="u_1", event="Workspace Created")
        letter.close()  # before the process exits

    Or as a context manager, which closes (and so flushes) on exit::

        with Letter(api_key=os.environ["LETTER_API_KEY"]) as letter:
            letter.track(user_id="u_1", event="Workspace Created")

    Args:
        api_key: ``lt_live_`` followed by 48 hex characters, from
            Dashboard - Settings - API keys.
        base_url: Where the API lives. When not given, the environment
            variable ``LETTER_API_URL`` is used if set (so the same code runs
            against a self-hosted Letter), else ``https://api.letter.app``.
        flush_at: Send a batch as soon as this many items are queued (and
            never put more than this many items in one request).
        flush_interval: Seconds a partial batch may wait for more items
            before it is sent anyway.
        max_retries: Retries of a batch after a 5xx, a 429 or a network
            error. A 429 waits ``Retry-After`` seconds; the others back off
            0.25 s x 2^attempt plus up to 25 % jitter. Other 4xx answers are
            not retried.
        timeout: Socket timeout of one request, in seconds. Also how long
            the interpreter waits at exit for queued items to be sent.
        on_error: ``on_error(error, items)`` is called with a
            :class:`LetterError` and the list of items (the JSON objects that
            were or would have been sent, ``message_id`` included) whenever
            items cannot be delivered: the request failed for good, the
            server rejected some items of a batch, an item is over 32 KB or
            not JSON-serialisable, the queue is full, or ``close()`` timed
            out. It runs on one of the client's background threads, one
            call at a time, except for a full queue, where it runs on the
            calling thread. Defaults to printing one line to stderr.
        max_queue_size: Items that may wait to be sent: queued, or encoded
            into a batch that is not in flight yet. When that many wait,
            new items go to ``on_error`` instead of blocking your thread.
        skip_triggers: Send ``"skip_triggers": true`` with every batch:
            ingest without enrolling anyone in sequences (for backfills).
        transport: How requests are sent; defaults to
            :class:`~letterapp.UrllibTransport`. See :class:`~letterapp.Transport`.

    Raises:
        LetterError: on a missing or malformed ``api_key`` (code
            ``"unauthorized"``) or an invalid option (code ``"bad_request"``),
            with ``status`` ``None``.
    """

    def __init__(
        self,
        api_key: str,
        base_url: Optional[str] = None,
        flush_at: int = 50,
        flush_interval: float = 0.1,
        max_retries: int = 3,
        timeout: float = 10.0,
        on_error: Optional[OnError] = None,
        max_queue_size: int = 10000,
        skip_triggers: bool = False,
        transport: Optional[Transport] = None,
        *,
        _sleep: Optional[Sleep] = None,
        _clock: Optional[Clock] = None,
    ) -> None:
        self._closed = True  # until fully constructed: __del__-free, but be safe
        if not api_key:
            raise _config_error(
                "api_key is required: create one in Dashboard - Settings - API keys",
                code="unauthorized",
            )
        if not isinstance(api_key, str) or not _API_KEY.fullmatch(api_key):
            raise _config_error(
                "api_key is malformed: expected lt_live_ followed by 48 hex characters",
                code="unauthorized",
            )
        if base_url is None:
            base_url = os.environ.get("LETTER_API_URL") or DEFAULT_BASE_URL
        if not isinstance(base_url, str):
            raise _config_error("base_url must be a string, got %r" % (base_url,))
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _config_error("base_url must be an http:// or https:// URL, got %r" % (base_url,))
        if parts.query or parts.fragment:
            raise _config_error("base_url must not have a query or fragment: %r" % (base_url,))
        self._flush_at = _check_int("flush_at", flush_at, 1)
        self._flush_interval = _check_seconds("flush_interval", flush_interval, True)
        self._max_retries = _check_int("max_retries", max_retries, 0)
        self._timeout = _check_seconds("timeout", timeout, False)
        self._max_queue_size = _check_int("max_queue_size", max_queue_size, 1)
        if on_error is not None and not callable(on_error):
            raise _config_error("on_error must be callable, got %r" % (on_error,))
        if not isinstance(skip_triggers, bool):
            raise _config_error("skip_triggers must be True or False, got %r" % (skip_triggers,))
        if transport is not None and not callable(getattr(transport, "send", None)):
            raise _config_error("transport must have a send(url, headers, body, timeout) method")

        self._base_url = base_url.rstrip("/")
        self._url = self._base_url + "/v1/batch"
        self._headers = {
            "Authorization": "Bearer " + api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._on_error: OnError = on_error if on_error is not None else _default_on_error
        self._skip_triggers = skip_triggers
        self._transport: Transport = transport if transport is not None else UrllibTransport()
        self._owns_transport = transport is None
        self._sleep = _sleep
        self._clock = _clock
        self._lock = threading.Lock()
        self._close_result = True

        self._consumer = self._new_consumer()
        self._atexit_hook: Callable[[], None] = functools.partial(_close_at_exit, weakref.ref(self))
        self._finalizer = self._watch(self._consumer)
        atexit.register(self._atexit_hook)
        _clients.add(self)
        self._closed = False
        self._consumer.start()

    # -- the three calls ---------------------------------------------------

    def identify(
        self,
        user_id: Id,
        email: Optional[str] = None,
        traits: Optional[Mapping[str, Any]] = None,
        timezone: Optional[str] = None,
        timestamp: Optional[Timestamp] = None,
        message_id: Optional[str] = None,
    ) -> None:
        """Create or update a contact; ``traits`` are deep-merged server-side.

        ::

            letter.identify("u_1", email="ada@example.com", traits={"plan": "pro"},
                            timezone="Europe/Paris")

        Returns immediately; delivery problems go to ``on_error``. Don't
        mutate nested values of ``traits`` after the call: they are encoded
        later, on a background thread (the top-level dict is copied).
        """
        if self._closed:
            raise self._closed_error()
        if type(user_id) is not str or not user_id:
            user_id = _as_id("user_id", user_id)
        if email is not None and type(email) is not str:
            raise _bad_argument("email", "a string", email)
        if traits is not None:
            traits = traits.copy() if type(traits) is dict else _as_dict("traits", traits)
        if timezone is not None and type(timezone) is not str:
            raise _bad_argument("timezone", "an IANA time zone name", timezone)
        if timestamp is not None or message_id is not None:
            _check_optional(timestamp, message_id)
        self._put((IDENTIFY, user_id, email, traits, timezone, timestamp, message_id, time.time()))

    def group(
        self,
        user_id: Id,
        account_id: Id,
        name: Optional[str] = None,
        traits: Optional[Mapping[str, Any]] = None,
        timestamp: Optional[Timestamp] = None,
        message_id: Optional[str] = None,
    ) -> None:
        """Create or update an account and link the contact ``user_id`` to it.

        ::

            letter.group("u_1", account_id="w_1", name="Acme", traits={"mrr": 49})

        The link only lands if the contact exists, so ``identify`` first.
        """
        if self._closed:
            raise self._closed_error()
        if type(user_id) is not str or not user_id:
            user_id = _as_id("user_id", user_id)
        if type(account_id) is not str or not account_id:
            account_id = _as_id("account_id", account_id)
        if name is not None and type(name) is not str:
            raise _bad_argument("name", "a string", name)
        if traits is not None:
            traits = traits.copy() if type(traits) is dict else _as_dict("traits", traits)
        if timestamp is not None or message_id is not None:
            _check_optional(timestamp, message_id)
        self._put((GROUP, user_id, account_id, name, traits, timestamp, message_id, time.time()))

    def track(
        self,
        user_id: Id,
        event: str,
        properties: Optional[Mapping[str, Any]] = None,
        timestamp: Optional[Timestamp] = None,
        message_id: Optional[str] = None,
    ) -> None:
        """Record that ``user_id`` did ``event``.

        ::

            letter.track("u_1", "Workspace Created", properties={"workspace_id": "w_1"})

        Events may start sequences (unless the client has ``skip_triggers``).
        """
        if self._closed:
            raise self._closed_error()
        if type(user_id) is not str or not user_id:
            user_id = _as_id("user_id", user_id)
        if type(event) is not str or not event:
            raise _bad_argument("event", "a non-empty string", event)
        if properties is not None:
            if type(properties) is dict:
                properties = properties.copy()
            else:
                properties = _as_dict("properties", properties)
        if timestamp is not None or message_id is not None:
            _check_optional(timestamp, message_id)
        self._put((TRACK, user_id, event, properties, None, timestamp, message_id, time.time()))

    def _put(self, item: Item) -> None:
        consumer = self._consumer
        queue = consumer.queue
        if len(queue) + consumer.held >= self._max_queue_size:
            self._queue_full(item)
            return
        queue.append(item)
        if len(queue) >= consumer.wake_at and not consumer.wake.is_set():
            consumer.wake.set()

    def _queue_full(self, item: Item) -> None:
        error = LetterError(
            "queue is full (max_queue_size=%d); the item was not queued" % self._max_queue_size,
            code="queue_full",
        )
        report(self._on_error, error, [to_wire(item)])

    # -- flush and close ---------------------------------------------------

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send everything queued so far; block until it has settled.

        Settled means sent, or handed to ``on_error``. Returns ``True`` when
        that happened, ``False`` if ``timeout`` seconds passed first (the
        items stay queued and are still sent later)::

            letter.track("u_1", "Checkout Started")
            letter.flush(timeout=5)
        """
        if self._closed:
            raise self._closed_error()
        return self._consumer.flush(timeout)

    def close(self, timeout: Optional[float] = None) -> bool:
        """Flush, stop the background threads and refuse new calls.

        Waits up to ``timeout`` seconds (forever if ``None``). Returns
        ``True`` when everything queued was settled; on timeout the items
        still queued go to ``on_error`` and ``False`` is returned. Later
        calls to ``identify``/``group``/``track``/``flush`` raise
        :class:`LetterError`; closing again does nothing. Runs automatically
        at interpreter exit (waiting at most ``timeout`` given to the
        constructor), but call it yourself before ``sys.exit()``.
        """
        with self._lock:
            if self._closed:
                return self._close_result
            self._closed = True
        atexit.unregister(self._atexit_hook)
        self._finalizer.detach()
        _clients.discard(self)
        self._close_result = self._consumer.shutdown(timeout)
        return self._close_result

    def __enter__(self) -> Letter:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return "<Letter %s %s queued=%d>" % (self._base_url, state, len(self._consumer.queue))

    # -- internals ---------------------------------------------------------

    def _closed_error(self) -> LetterError:
        return LetterError("this Letter client is closed", code="client_closed")

    def _new_consumer(self) -> Consumer:
        return Consumer(
            url=self._url,
            headers=self._headers,
            transport=self._transport,
            timeout=self._timeout,
            flush_at=self._flush_at,
            flush_interval=self._flush_interval,
            max_retries=self._max_retries,
            skip_triggers=self._skip_triggers,
            on_error=self._on_error,
            sleep=self._sleep,
            clock=self._clock,
            close_transport=self._owns_transport,
        )

    def _watch(self, consumer: Consumer) -> weakref.finalize:  # type: ignore[type-arg]
        """When the client is garbage collected, let its threads drain and exit."""
        finalizer = weakref.finalize(self, _collected, consumer, self._atexit_hook)
        finalizer.atexit = False
        return finalizer

    def _after_fork(self) -> None:
        """In a forked child: a fresh queue and threads; the parent's queue is its own."""
        self._lock = threading.Lock()
        if self._closed:
            return
        self._finalizer.detach()
        self._consumer = self._new_consumer()
        self._finalizer = self._watch(self._consumer)
        self._consumer.start()
