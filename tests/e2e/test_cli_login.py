"""``letter login`` (device flow and --with-token), ``auth status`` and
``logout``: the real binary against a real server, approved by a browser-like
HTTP client that signs in."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import uuid
from datetime import timedelta

from sqlalchemy import update

from letter.auth.models import DeviceAuthorization
from letter.clock import utcnow
from letter.db.engine import make_engine
from tests.e2e.cli_support import LETTER, Cli, bootstrap_user, browser_decides, server

__all__ = ["server"]


def _email() -> str:
    return f"{uuid.uuid4().hex[:8]}@example.com"


def _start_login(cli: Cli) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [LETTER, "login", "--no-browser"], env=cli.env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    for _ in range(10):
        line = process.stderr.readline()
        found = re.search(r"one-time code: ([A-Z]{4}-[A-Z]{4})", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise AssertionError("no user code printed")


def test_device_login_stores_the_token_then_logout_revokes_it(server, tmp_path):
    email = _email()
    bootstrap_user(server, email)
    cli = Cli(server, tmp_path)
    process, code = _start_login(cli)
    assert "Login approved" in browser_decides(server.base_url, email, code)
    _, stderr = process.communicate(timeout=40)
    assert process.returncode == 0, stderr
    config = tmp_path / "config" / "letter" / "config.toml"
    assert f"Token stored in {config}" in stderr and email in stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    token = re.search(r'token = "(lt_pat_[0-9a-f]{48})"', config.read_text())
    assert token, config.read_text()

    status = cli.ok("auth", "status")
    assert email in status.stdout and "owner" in status.stdout and str(config) in status.stdout
    cli.token = token.group(1)
    assert json.loads(cli.run("auth", "status", "--json", LETTER_PAT="").stdout) == cli.api(
        "GET", "/v1/me").json()

    out = cli.run("logout", LETTER_PAT="")
    assert out.returncode == 0 and "revoked" in out.stderr
    assert cli.api("GET", "/v1/me").status_code == 401
    assert "token" not in config.read_text()
    again = cli.run("projects", "list", LETTER_PAT="")
    assert again.returncode == 4 and "letter login" in again.stderr


def test_denied_login_exits_4(server, tmp_path):
    email = _email()
    bootstrap_user(server, email)
    cli = Cli(server, tmp_path)
    process, code = _start_login(cli)
    assert "Login denied" in browser_decides(server.base_url, email, code, action="deny")
    _, stderr = process.communicate(timeout=40)
    assert process.returncode == 4
    assert "denied" in stderr
    assert not (tmp_path / "config" / "letter" / "config.toml").exists()


def test_expired_login_exits_4(server, tmp_path):
    cli = Cli(server, tmp_path)
    process, code = _start_login(cli)
    engine = make_engine(server.env["LETTER_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(
                update(DeviceAuthorization)
                .where(DeviceAuthorization.user_code == code.replace("-", ""))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
    finally:
        engine.dispose()
    _, stderr = process.communicate(timeout=40)
    assert process.returncode == 4
    assert "expired" in stderr


def test_login_with_token_from_stdin(server, tmp_path):
    token = bootstrap_user(server, _email())
    cli = Cli(server, tmp_path)
    assert cli.run("auth", "status").returncode == 4
    done = cli.run(
        "login", "--with-token", "--api-url", server.base_url, stdin=token + "\n",
        LETTER_API_URL="",
    )
    assert done.returncode == 0, done.stderr
    # The server address was stored with the token.
    assert cli.run("projects", "list", LETTER_API_URL="").returncode == 0
    cli.token = token
    # Logout finds the pasted token by its prefix and revokes it.
    assert cli.run("logout", LETTER_PAT="").returncode == 0
    assert cli.api("GET", "/v1/me").status_code == 401


def test_login_with_a_bad_token_exits_4_and_stores_nothing(server, tmp_path):
    cli = Cli(server, tmp_path)
    done = cli.run("login", "--with-token", stdin="lt_pat_" + "0" * 48)
    assert done.returncode == 4 and "unauthorized" in done.stderr
    assert not (tmp_path / "config" / "letter" / "config.toml").exists()
    assert cli.run("login", "--with-token", stdin="").returncode == 4


def test_environment_overrides_the_file(server, tmp_path):
    good = bootstrap_user(server, _email())
    cli = Cli(server, tmp_path)
    assert cli.run("login", "--with-token", stdin=good).returncode == 0
    bad = cli.run("projects", "list", LETTER_PAT="lt_pat_" + "1" * 48)
    assert bad.returncode == 4
    elsewhere = cli.run("projects", "list", LETTER_API_URL="http://127.0.0.1:9")
    assert elsewhere.returncode == 1 and "cannot reach Letter" in elsewhere.stderr
