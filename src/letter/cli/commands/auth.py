"""``letter login``, ``letter logout`` and ``letter auth status``."""

from __future__ import annotations

import socket
import sys
import time
from typing import Annotated, Any

import typer

from letter.cli import config
from letter.cli.common import JsonOpt, group
from letter.cli.http import EXIT_AUTH, Api, error_message, fail
from letter.cli.output import err, print_json

app = group("Who you are logged in as.")
NAME = "auth"

ApiUrlOpt = Annotated[
    str | None,
    typer.Option("--api-url", help="Letter's address (default: LETTER_API_URL, the stored one, "
                 f"or {config.DEFAULT_API_URL}).", show_default=False),
]


def login(
    api_url: ApiUrlOpt = None,
    with_token: Annotated[
        bool, typer.Option("--with-token", help="Read a token from stdin instead (for CI).")
    ] = False,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the URL; do not open a browser.")
    ] = False,
) -> None:
    """Log in with your browser (device flow) and store the token."""
    credentials = config.resolve(api_url)
    client = Api(config.Credentials(credentials.api_url, None, None, "none"), require_token=False)
    if with_token:
        token = sys.stdin.read().strip()
        if not token:
            fail("no token on stdin.", EXIT_AUTH)
        token_id = None
    else:
        token, token_id = _device_flow(client, open_browser=not no_browser)
    me = _whoami(Api(config.Credentials(credentials.api_url, token, None, "login")))
    stored = config.load()
    stored.update(api_url=credentials.api_url, token=token)
    stored.pop("token_id", None)
    if token_id:
        stored["token_id"] = token_id
    path = config.save(stored)
    err(f"Logged in to {credentials.api_url} as {me['user']['email']} "
        f"({me['workspace']['name']}, {me['role']}).")
    err(f"Token stored in {path}")


def _device_flow(client: Api, open_browser: bool) -> tuple[str, str]:
    name = f"letter CLI on {socket.gethostname()}"
    start = client.call("POST", "/v1/device/code", json_body={"client_name": name}).json()
    err(f"First copy your one-time code: {start['user_code']}")
    err(f"Then open {start['verification_uri']} and enter it, or go straight to:")
    err(f"  {start['verification_uri_complete']}")
    if open_browser and sys.stdout.isatty():
        import webbrowser

        webbrowser.open(start["verification_uri_complete"])
    interval = float(start["interval"])
    deadline = time.monotonic() + float(start["expires_in"])
    while time.monotonic() < deadline:
        time.sleep(interval)
        response = client.send(
            "POST", "/v1/device/token", json_body={"device_code": start["device_code"]}
        )
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return str(body["token"]), str(body["id"])
        code, message = error_message(response)
        if code == "authorization_pending":
            continue
        if code == "slow_down":
            interval += 5  # RFC 8628 §3.5
            continue
        if code == "access_denied":
            fail("the login was denied in the browser.", EXIT_AUTH)
        if code == "expired_token":
            fail("the code expired before it was approved; run `letter login` again.", EXIT_AUTH)
        fail(f"{message} ({code})")
    fail("the code expired before it was approved; run `letter login` again.", EXIT_AUTH)


def _whoami(client: Api) -> dict[str, Any]:
    me: dict[str, Any] = client.call("GET", "/v1/me").json()
    return me


def logout() -> None:
    """Revoke the stored token on the server and forget it."""
    stored = config.load()
    credentials = config.resolve()
    if not stored.get("token"):
        from_env = credentials.source == "LETTER_PAT"
        hint = " (LETTER_PAT is set: unset it yourself)" if from_env else ""
        err(f"Not logged in{hint}.")
        return
    client = Api(config.Credentials(credentials.api_url, stored["token"], None, "file"))
    token_id = stored.get("token_id") or _find_token_id(client, stored["token"])
    if token_id:
        response = client.send("DELETE", f"/v1/tokens/{token_id}")
        if response.status_code not in (204, 401, 404):
            code, message = error_message(response)
            fail(f"could not revoke the token: {message} ({code})")
    for key in ("token", "token_id"):
        stored.pop(key, None)
    config.save(stored)
    err(f"Logged out of {credentials.api_url}; the token is revoked and removed.")


def _find_token_id(client: Api, token: str) -> str | None:
    """Tokens pasted with --with-token: find ours among the user's by prefix."""
    response = client.send("GET", "/v1/tokens", params={"limit": 100})
    if response.status_code != 200:
        return None
    matches = [t["id"] for t in response.json()["data"] if token.startswith(t["prefix"])]
    return str(matches[0]) if len(matches) == 1 else None


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Who you are, in which workspace and role, and where the token lives."""
    credentials = config.resolve()
    response = Api(credentials).call("GET", "/v1/me")
    if as_json:
        print_json(response.text)
        return
    me = response.json()
    typer.echo(f"Logged in to {credentials.api_url} as {me['user']['email']}")
    typer.echo(f"Workspace {me['workspace']['name']} ({me['workspace']['id']}), role {me['role']}")
    typer.echo(f"Token from {credentials.source}")
