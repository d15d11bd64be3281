"""Where the CLI's credentials live: ``config.toml`` in the XDG config dir.

``LETTER_PAT`` and ``LETTER_API_URL`` override the file, so CI needs no file.
The file holds a secret, so it is written with mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_API_URL", "Credentials", "config_path", "load", "resolve", "save"]

DEFAULT_API_URL = "http://127.0.0.1:8300"


@dataclass(frozen=True)
class Credentials:
    api_url: str
    token: str | None
    token_id: str | None
    source: str  # "LETTER_PAT", the config file's path, or "none"


def config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("letter", appauthor=False) / "config.toml"


def load() -> dict[str, str]:
    path = config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}  # e.g. CI with LETTER_PAT: no TOML parser to import
    except OSError as exc:
        raise SystemExit(f"error: cannot read {path}: {exc}") from exc
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SystemExit(f"error: cannot read {path}: {exc}") from exc
    return {k: v for k, v in data.items() if isinstance(v, str)}


def save(values: dict[str, str]) -> Path:
    """Replace the file with ``values`` (plain string keys only)."""
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # JSON string escapes are valid TOML basic-string escapes.
    text = "".join(f"{key} = {json.dumps(value)}\n" for key, value in sorted(values.items()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # also when the file existed with a looser mode
    return path


def resolve(api_url: str | None = None) -> Credentials:
    stored = load()
    url = api_url or os.environ.get("LETTER_API_URL") or stored.get("api_url") or DEFAULT_API_URL
    env_token = os.environ.get("LETTER_PAT")
    if env_token:
        return Credentials(url.rstrip("/"), env_token.strip(), None, "LETTER_PAT")
    token = stored.get("token")
    source = str(config_path()) if token else "none"
    return Credentials(url.rstrip("/"), token, stored.get("token_id"), source)
