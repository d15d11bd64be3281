"""HTTP transports: the interface the client sends through, and the default one."""

from __future__ import annotations

import base64
import http.client
import os
import select
import socket
import threading
import urllib.request
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Protocol, Tuple, Type
from urllib.parse import unquote, urlsplit

__all__ = ["Response", "Transport", "UrllibTransport"]


class Response(NamedTuple):
    """What a transport returns for one HTTP exchange.

    ``headers`` may use any capitalisation; use :meth:`header` to read one::

        Response(429, {"Retry-After": "3"}, b'{"error": {...}}').header("retry-after")  # "3"
    """

    status: int
    headers: Mapping[str, str] = {}
    body: bytes = b""

    def header(self, name: str) -> Optional[str]:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


class Transport(Protocol):
    """Sends one HTTP POST. Implement this to route requests your own way.

    ``send`` returns a :class:`Response` for every HTTP answer, whatever its
    status (4xx and 5xx included), and raises an exception (any ``Exception``)
    when no answer was received: connection refused, DNS failure, timeout.
    The client treats a raised exception as a network error and retries it::

        class RequestsTransport:
            def __init__(self):
                self.session = requests.Session()

            def send(self, url, headers, body, timeout):
                r = self.session.post(url, headers=headers, data=body, timeout=timeout)
                return Response(r.status_code, r.headers, r.content)

        letter = Letter(api_key=..., transport=RequestsTransport())

    ``send`` is only ever called from the client's sender thread, one
    request at a time.
    """

    def send(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Response:
        """POST ``body`` to ``url`` and return the response."""
        ...


def _closed_errors() -> Tuple[Type[BaseException], ...]:
    errors: List[Type[BaseException]] = [ConnectionError]  # reset, aborted, broken pipe
    try:
        import ssl
    except ImportError:  # pragma: no cover - Python built without ssl
        pass
    else:
        errors.append(ssl.SSLEOFError)
    return tuple(errors)


#: What a kept-alive connection raises when the server had closed it: the
#: request is sent once more on a new connection (see UrllibTransport.send).
_CLOSED = _closed_errors()

_Key = Tuple[str, str]


def _readable(sock: socket.socket) -> bool:
    """Whether an idle socket has something to read: the server closed it (EOF), or
    sent bytes nobody asked for. Either way it cannot carry another request."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready)
    except (OSError, ValueError):
        return True


class _Route(NamedTuple):
    """Where a connection goes and what the request line and headers need."""

    connection: Type[http.client.HTTPConnection]
    host: str  # host:port to connect to (the target, or the proxy)
    tunnel: Optional[str]  # host:port behind an HTTP proxy's CONNECT, for https
    tunnel_headers: Dict[str, str]
    absolute: bool  # request line carries the full URL (plain http through a proxy)
    proxy_headers: Dict[str, str]


class _Connection(NamedTuple):
    """An ``http.client`` connection and the route it was opened for."""

    handle: http.client.HTTPConnection
    route: _Route


class UrllibTransport:
    """The default transport: the standard library's HTTP client, connection kept open.

    The connection to the API is kept alive (HTTP/1.1) and reused by every
    batch; it is reopened when a request on it fails or the server closed
    it while idle. Honours the usual ``HTTPS_PROXY`` / ``NO_PROXY``
    environment variables, as ``urllib`` does, and never follows redirects
    (a 3xx answer is reported like any other error)::

        letter = Letter(api_key=..., transport=UrllibTransport())

    Failures are raised, as :class:`Transport` requires, so the client retries
    them with its backoff: except when a reused connection turns out to have
    been closed by the server (an idle timeout that crossed the request),
    where the request is sent once more at once on a new connection, as a
    new connection would have carried it in the first place. Batches are
    idempotent (every item has its ``message_id``), so that is safe even if
    the server had read the request.

    One instance may be shared by several clients (each thread takes its own
    connection), and after ``os.fork()`` the child opens its own connections.
    :meth:`close` closes the idle ones.
    """

    def __init__(self) -> None:
        self._proxies = urllib.request.getproxies()
        self._lock = threading.Lock()
        self._idle: Dict[_Key, List[_Connection]] = {}
        self._pid = os.getpid()

    def send(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Response:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        conn = self._checkout(key)
        if conn is not None:
            conn.handle.timeout = timeout
            if conn.handle.sock is not None:
                conn.handle.sock.settimeout(timeout)
            try:
                return self._exchange(key, conn, url, headers, body)
            except _CLOSED:
                pass  # the server had closed it: send again on a new connection
        conn = self._connect(parts, timeout)
        return self._exchange(key, conn, url, headers, body)

    def close(self) -> None:
        """Close the idle connections (a later :meth:`send` opens a new one)."""
        self._forget_parent()
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.handle.close()

    def __repr__(self) -> str:
        return "UrllibTransport()"

    # -- connections --------------------------------------------------------

    def _checkout(self, key: _Key) -> Optional[_Connection]:
        """An idle connection to ``key`` still usable, or ``None``."""
        self._forget_parent()
        while True:
            with self._lock:
                conns = self._idle.get(key)
                if not conns:
                    return None
                conn = conns.pop()
            sock = conn.handle.sock
            if sock is not None and not _readable(sock):
                return conn
            conn.handle.close()  # closed by the server while idle (or broken): try the next one

    def _forget_parent(self) -> None:
        """In a forked child: drop the parent's connections (and a lock it may have held)."""
        if self._pid != os.getpid():
            self._lock = threading.Lock()
            self._idle = {}  # not closed: the parent still uses these sockets
            self._pid = os.getpid()

    def _checkin(self, key: _Key, conn: _Connection) -> None:
        if conn.handle.sock is None:  # the server asked to close it (Connection: close)
            return
        with self._lock:
            self._idle.setdefault(key, []).append(conn)

    def _exchange(
        self,
        key: _Key,
        conn: _Connection,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        route = conn.route
        target = url if route.absolute else self._selector(url)
        all_headers = dict(headers)
        if route.proxy_headers:
            all_headers.update(route.proxy_headers)
        http_conn = conn.handle
        try:
            http_conn.request("POST", target, body=body, headers=all_headers)
            answer = http_conn.getresponse()
            payload = answer.read()
        except BaseException:
            http_conn.close()
            raise
        response = Response(answer.status, dict(answer.getheaders()), payload)
        self._checkin(key, conn)
        return response

    @staticmethod
    def _selector(url: str) -> str:
        parts = urlsplit(url)
        path = parts.path or "/"
        return path + ("?" + parts.query if parts.query else "")

    def _connect(self, parts: Any, timeout: float) -> _Connection:
        route = self._route(parts)
        conn = route.connection(route.host, timeout=timeout)
        if route.tunnel is not None:
            conn.set_tunnel(route.tunnel, headers=route.tunnel_headers)
        return _Connection(conn, route)

    def _route(self, parts: Any) -> _Route:
        """Direct, or through the proxy the environment names, as ``urllib`` would."""
        scheme: str = parts.scheme
        netloc: str = parts.netloc
        direct = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        proxy = self._proxies.get(scheme)
        if not proxy or urllib.request.proxy_bypass(netloc):
            return _Route(direct, netloc, None, {}, False, {})
        if "://" not in proxy:
            proxy = scheme + "://" + proxy
        where = urlsplit(proxy)
        hostport = unquote(where.netloc.rpartition("@")[2])
        auth: Dict[str, str] = {}
        if where.username and where.password:
            credentials = "%s:%s" % (unquote(where.username), unquote(where.password))
            token = base64.b64encode(credentials.encode()).decode("ascii")
            auth["Proxy-Authorization"] = "Basic " + token
        if scheme == "https":  # a CONNECT tunnel through the proxy, TLS to the API inside
            return _Route(direct, hostport, netloc, auth, False, {})
        via = http.client.HTTPSConnection if where.scheme == "https" else http.client.HTTPConnection
        return _Route(via, hostport, None, {}, True, auth)
