"""The CLI's HTTP client of the Management API.

Errors become exit codes (1 failure with the API's message and code, 4 when
authentication is required); a 429 waits ``Retry-After`` and retries; create
and send calls carry one ``Idempotency-Key`` reused across their own retries,
so a retry never creates twice.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from letter import __version__
from letter.cli.config import Credentials, resolve

if TYPE_CHECKING:
    import httpx

__all__ = ["EXIT_AUTH", "EXIT_FAILURE", "EXIT_USAGE", "Api", "api", "fail"]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AUTH = 4
MAX_ATTEMPTS = 5
MAX_WAIT_SECONDS = 60.0


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def error_message(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of an error response, whatever its body."""
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}", response.text[:200] or response.reason_phrase


def _httpx() -> ModuleType:
    """httpx without its own command line: ``httpx._main`` imports click, Rich
    and Pygments (a third of httpx's import time), and httpx only offers
    ``httpx.main`` from it, which Letter never calls. Marking it missing
    takes the fallback httpx has for installs without its CLI extra."""
    if "httpx" not in sys.modules:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]
        try:
            import httpx
        finally:
            del sys.modules["httpx._main"]
    import httpx

    return httpx


class Api:
    def __init__(self, credentials: Credentials, require_token: bool = True) -> None:
        if require_token and not credentials.token:
            fail("not logged in. Run `letter login` or set LETTER_PAT.", EXIT_AUTH)
        self.credentials = credentials
        httpx = _httpx()
        headers = {"User-Agent": f"letter-cli/{__version__}"}
        if credentials.token:
            headers["Authorization"] = f"Bearer {credentials.token}"
        self.client = httpx.Client(base_url=credentials.api_url, headers=headers, timeout=30)

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        files: Any = None,
        data: Any = None,
        idempotent: bool = False,
    ) -> httpx.Response:
        """The response, whatever its status (retrying transport errors and 429s)."""
        httpx = _httpx()
        headers = {"Idempotency-Key": str(uuid.uuid4())} if idempotent else {}
        content = None if json_body is None else json.dumps(json_body).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        params = {k: v for k, v in (params or {}).items() if v is not None}
        # Only calls that are safe to repeat are retried after a dropped connection.
        retry_transport = idempotent or method in ("GET", "HEAD", "DELETE", "PUT")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self.client.request(
                    method, path, content=content, params=params, files=files, data=data,
                    headers=headers,
                )
            except httpx.TransportError as exc:
                if retry_transport and attempt < MAX_ATTEMPTS:
                    time.sleep(min(2 ** (attempt - 1) * 0.25, 4))
                    continue
                fail(f"cannot reach Letter at {self.credentials.api_url}: {exc}")
            if response.status_code == 429 and attempt < MAX_ATTEMPTS:
                time.sleep(_retry_after(response))
                continue
            return response
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A successful response, else exit with the API's error."""
        response = self.send(method, path, **kwargs)
        if response.status_code >= 400:
            code, message = error_message(response)
            if response.status_code == 401:
                fail(f"{message} ({code}). Run `letter login` or set LETTER_PAT.", EXIT_AUTH)
            fail(f"{message} ({code})")
        return response


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "1")), 0.0), MAX_WAIT_SECONDS)
    except ValueError:
        return 1.0


def api(require_token: bool = True, api_url: str | None = None) -> Api:
    return Api(resolve(api_url), require_token)
