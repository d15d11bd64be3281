"""The README's quick start, run as written: its shell commands are read out
of README.md (never copied here) and run with bash against a real
``./dev serve`` in a fresh directory, ending with a real ``.eml`` for the
contact the commands created.

The fresh directory holds the repository's ``dev`` script and reuses the
already-built ``.venv`` (a clean install would take minutes); the commands
themselves run unchanged, with ``LETTER_API_URL`` pointing them at the port
this test's server listens on.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def readme_commands(heading: str) -> str:
    """The first ```sh block under ``## <heading>`` in README.md."""
    text = (REPO / "README.md").read_text()
    section = text.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, f"no sh block under {heading!r}"
    return match.group(1)


def serve_command() -> list[str]:
    """``./dev serve`` as the README's "Two commands" section gives it."""
    (line,) = [ln for ln in readme_commands("Two commands").splitlines() if "dev serve" in ln]
    return line.split("#", 1)[0].split()


def fresh_directory(root: Path) -> Path:
    stamp = REPO / ".venv" / ".installed"
    if not stamp.exists():
        pytest.skip("run through ./dev test, which builds .venv")
    root.mkdir()
    shutil.copy2(REPO / "dev", root / "dev")
    (root / ".venv").symlink_to(REPO / ".venv")
    # ./dev reinstalls when pyproject.toml is newer than the install stamp.
    for name in ("pyproject.toml", "sdks/python/pyproject.toml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
        os.utime(root / name, (stamp.stat().st_mtime - 1,) * 2)
    return root


def test_the_readme_quick_start_runs_verbatim_to_a_first_email(
    tmp_path: Path, fresh_database_url: str
) -> None:
    here = fresh_directory(tmp_path / "letter")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LETTER_DATA_DIR", "LETTER_PUBLIC_URL", "LETTER_API_URL")
    }
    env["LETTER_DATABASE_URL"] = fresh_database_url
    server = subprocess.Popen(
        [*serve_command(), "--port", str(port)],
        cwd=here,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, "./dev serve exited"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        run = subprocess.run(
            ["bash", "-e", "-c", readme_commands("Quick start (5 minutes, with curl)")],
            cwd=here,
            env={**env, "LETTER_API_URL": base},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # The invitation of the last step goes out through the outbox too.
        outbox = here / ".letter" / "outbox"
        deadline = time.monotonic() + 15
        while len(list(outbox.glob("*.eml"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr
    assert '"error"' not in run.stdout, run.stdout
    assert '"external_id":"user_ada"' in run.stdout.replace(" ", ""), run.stdout
    found = re.findall(r"\./\.letter/outbox/\w+\.eml", run.stdout)
    assert len(found) == 1, run.stdout
    message = email.message_from_bytes((here / found[0]).read_bytes(), policy=email.policy.default)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Welcome, Ada"
    text = message.get_body(("plain",)).get_content()
    assert "Thanks for trying Acme on the pro plan." in text
    outbox = list((here / ".letter" / "outbox").glob("*.eml"))
    assert len(outbox) == 2  # Ada's email and the teammate's invitation
