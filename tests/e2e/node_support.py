"""Helpers for the ``@letterapp/node`` end-to-end tests: find Node, build the
SDK once per session, write the import guide's script, run Node scripts.

Without ``node`` on the PATH these tests skip, so ``./dev test`` works for
people who never touch Node. CI sets ``LETTER_REQUIRE_NODE=1``: there a missing
Node fails the run instead of skipping silently.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_SDK = ROOT / "sdks" / "node"
GUIDE_SCRIPT = NODE_SDK / "test" / "fixtures" / "spec-000-import.ts.txt"
EXAMPLE = NODE_SDK / "examples" / "import-into-letter.ts"
SCRATCH = NODE_SDK / ".tmp"
TSX = NODE_SDK / "node_modules" / ".bin" / "tsx"

ITERATE_USERS = "async function* iterateUsers(after: string | null): AsyncGenerator<SourceUser> {"


def require_node() -> str:
    """The path of ``node``, or skip (fail when ``LETTER_REQUIRE_NODE=1``)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("LETTER_REQUIRE_NODE") == "1":
            pytest.fail("node is not installed, and LETTER_REQUIRE_NODE=1 requires it")
        pytest.skip("node is not installed (the Node SDK's end-to-end tests need Node 20+)")
    return node


def build_sdk() -> None:
    """``npm ci`` if the SDK's dependencies are missing, then ``npm run build``."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not: cannot build sdks/node")
    with (NODE_SDK / ".build.lock").open("w") as lock:  # pytest-xdist workers build once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (NODE_SDK / "node_modules").is_dir():
            _npm(npm, "ci")
        _npm(npm, "run", "build")


def _npm(npm: str, *args: str) -> None:
    done = subprocess.run([npm, *args], cwd=NODE_SDK, capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"npm {' '.join(args)} failed in sdks/node:\n{done.stdout}\n{done.stderr}")


def _function(source: str, header: str) -> str:
    """The text of the top-level function starting at ``header`` (to its closing ``}``)."""
    start = source.index(header)
    end = re.compile(r"^}$", re.M).search(source, start)
    assert end is not None, header
    return source[start:end.end()]


def guide_script() -> Path:
    """spec/000's import script verbatim, its ``iterateUsers`` body taken from the
    example. Written inside the SDK's folder so ``@letterapp/node`` resolves to it."""
    guide = GUIDE_SCRIPT.read_text()
    filled = guide.replace(_function(guide, ITERATE_USERS),
                           _function(EXAMPLE.read_text(), ITERATE_USERS))
    assert filled.replace(_function(filled, ITERATE_USERS), "") == guide.replace(
        _function(guide, ITERATE_USERS), "")
    SCRATCH.mkdir(exist_ok=True)
    path = SCRATCH / f"guide-{uuid.uuid4().hex[:10]}.ts"
    path.write_text(filled)
    return path


def node_env(key: str, base_url: str) -> dict[str, str]:
    return {**os.environ, "LETTER_API_KEY": key, "LETTER_API_URL": base_url}


def run(command: list[str], env: dict[str, str], cwd: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd or NODE_SDK, capture_output=True, text=True,
                          timeout=timeout, check=False)
