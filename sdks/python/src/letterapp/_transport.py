"""HTTP transports: the interface the client sends through, and the default one."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any, Mapping, NamedTuple, Optional, Protocol

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

    ``send`` is only ever called from the client's background thread, one
    request at a time.
    """

    def send(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Response:
        """POST ``body`` to ``url`` and return the response."""
        ...


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Turn 3xx answers into errors: a redirected POST would silently lose its body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """The default transport: one ``urllib.request`` POST per batch.

    Honours the usual ``HTTPS_PROXY`` / ``NO_PROXY`` environment variables and
    never follows redirects (a 3xx answer is reported like any other error)::

        letter = Letter(api_key=..., transport=UrllibTransport())
    """

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    def send(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Response:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as error:
            try:
                payload = error.read()
            except Exception:
                payload = b""
            finally:
                error.close()
            header_items = error.headers.items() if error.headers is not None else []
            return Response(error.code, dict(header_items), payload)

    def __repr__(self) -> str:
        return "UrllibTransport()"
