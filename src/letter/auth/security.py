"""Secrets: minting, hashing and recognising tokens; password hashing.

Raw secrets are shown once; only their SHA-256 is stored, so a database leak
does not leak credentials.

>>> raw, prefix, digest = mint_secret("lt_pat_")
>>> raw.startswith(prefix) and len(raw) == len("lt_pat_") + 48
True
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from letter.emails import email_key, normalize_email

__all__ = [
    "KEY_PREFIX",
    "PAT_PREFIX",
    "hash_password",
    "hash_secret",
    "is_well_formed",
    "mint_secret",
    "normalize_user_email",
    "verify_password",
]

PAT_PREFIX = "lt_pat_"
KEY_PREFIX = "lt_live_"
SECRET_HEX_LENGTH = 48
DISPLAY_HEX = 8

_password_hasher = PasswordHasher()


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def mint_secret(kind: str) -> tuple[str, str, str]:
    """Return ``(raw, display_prefix, sha256)`` for a new secret of ``kind``."""
    body = secrets.token_hex(SECRET_HEX_LENGTH // 2)
    raw = kind + body
    return raw, kind + body[:DISPLAY_HEX], hash_secret(raw)


_SHAPES = {
    kind: re.compile(re.escape(kind) + f"[0-9a-f]{{{SECRET_HEX_LENGTH}}}")
    for kind in (PAT_PREFIX, KEY_PREFIX)
}


def is_well_formed(raw: str, kind: str) -> bool:
    return _SHAPES[kind].fullmatch(raw) is not None


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalize_user_email(email: str) -> str:
    """A team member's email as stored: Letter's email rule (``letter.emails``),
    case-folded, since a user is one account whatever the case they type.
    Raises ``InvalidEmail`` (a ValueError) with the reason.

    >>> normalize_user_email("Ada@Example.test")
    'ada@example.test'
    """
    return email_key(normalize_email(email))
