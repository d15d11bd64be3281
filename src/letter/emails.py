"""The one email rule, for every caller: ingestion, contacts, suppressions,
sends, sender identities and team members.

Syntax is checked by email-validator without DNS; special-use domains
(``.test``, ``.localhost``, ``.local``) are accepted, since
staging setups use them with a local mail catcher and Letter's own default
sending domain is ``letter.localhost``. The domain is lower-cased and the local part kept as
written; two addresses that differ only in case are the same person, so
identity is compared on :func:`email_key`.

>>> normalize_email("Ada@Example.COM")
'Ada@example.com'
>>> email_key("Ada@Example.COM") == email_key("ada@example.com")
True
>>> normalize_email("qa@staging.test"), normalize_email("hello@acme.letter.localhost")
('qa@staging.test', 'hello@acme.letter.localhost')
"""

from __future__ import annotations

import re
from functools import lru_cache

import email_validator
from email_validator import EmailNotValidError, validate_email

__all__ = ["InvalidEmail", "email_key", "normalize_email"]

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_LENGTH = 64

# A plain ASCII dot-atom local part (RFC 5322 atext), which email-validator
# accepts unchanged; anything else takes the full path.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


# email-validator refuses these names unless removed from its list (its
# documented switch); .invalid, .arpa and .onion stay refused: no mailbox
# lives there.
_ACCEPTED_SPECIAL_USE = {"local", "localhost", "test"}
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name not in _ACCEPTED_SPECIAL_USE
]


class InvalidEmail(ValueError):
    """``raw`` is not an email address; the message says why and quotes it."""


def _full(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise InvalidEmail(f'"{raw[:320]}" is not a valid address ({exc})') from exc


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    """The normalised domain, checked once per domain (most of the cost is IDNA)."""
    return _full(f"x@{domain}").partition("@")[2]


def normalize_email(raw: str) -> str:
    """The address as Letter stores it, or :class:`InvalidEmail` (syntax only).

    The common plain address checks its domain once and caches it: this runs
    for every identify on the ingestion hot path.
    """
    if not isinstance(raw, str):
        raise InvalidEmail("must be a string")
    local, at, domain = raw.rpartition("@")
    if at and len(local) <= MAX_LOCAL_LENGTH and _PLAIN_LOCAL.fullmatch(local) and domain.isascii():
        try:
            normalised = f"{local}@{_domain(domain)}"
        except InvalidEmail:
            return _full(raw)  # for the message naming the whole address
        if len(normalised) <= MAX_EMAIL_LENGTH:
            return normalised
    return _full(raw)


def email_key(address: str) -> str:
    """The identity of a normalised address: equal keys are the same person."""
    return address.casefold()
