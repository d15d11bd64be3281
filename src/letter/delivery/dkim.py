"""A small RFC 6376 DKIM signer (rsa-sha256, relaxed/relaxed) over ``cryptography``.

dkimpy signs in pure Python (milliseconds a message); this signer spends its
time in one RSA-2048 signature. It signs raw messages as Letter builds them
(CRLF line endings, headers unfolded or folded with CRLF + whitespace).

>>> signer = DkimSigner("example.com", "s1", private_pem)            # doctest: +SKIP
>>> raw = signer.sign(raw, ["from", "to", "subject", "list-unsubscribe"])  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import re
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["DkimSigner", "canonical_body", "canonical_header", "generate_key", "public_record"]

_WSP = re.compile(rb"[ \t]+")
# Only the runs that change: a tab, or two or more blanks (single spaces stay
# as they are, which keeps the body pass cheap on long HTML).
_WSP_RUN = re.compile(rb"[ \t]{2,}|\t")
_FOLD = re.compile(rb"\r\n(?=[ \t])")
_TRAILING_WSP = re.compile(rb"[ \t]+\r\n")


def canonical_header(name: bytes, value: bytes) -> bytes:
    """Relaxed header canonicalisation (RFC 6376 §3.4.2)."""
    if b"\n" in value or b"\t" in value or b"  " in value:
        value = _WSP.sub(b" ", _FOLD.sub(b"", value))
    return name.strip().lower() + b":" + value.strip(b" \t\r\n") + b"\r\n"


def canonical_body(body: bytes) -> bytes:
    """Relaxed body canonicalisation (RFC 6376 §3.4.4)."""
    # The substitutions only run when there is something to change (memchr-fast
    # checks first): Letter's own bodies rarely have runs of blanks.
    if b"\t" in body or b"  " in body:
        body = _WSP_RUN.sub(b" ", body)
    if b" \r\n" in body:
        body = _TRAILING_WSP.sub(b"\r\n", body)
    if body.endswith(b" "):
        body = body.rstrip(b" ")
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def _split(raw: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    headers: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\r\n" + line)
        else:
            name, _, value = line.partition(b":")
            headers.append((name, value))
    return headers, body


class DkimSigner:
    def __init__(self, domain: str, selector: str, private_pem: str | bytes) -> None:
        pem = private_pem.encode() if isinstance(private_pem, str) else private_pem
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("DKIM key must be RSA")
        self.key = key
        self.domain = domain
        self.selector = selector

    def signature_header(self, raw: bytes, sign_headers: list[str]) -> bytes:
        """The ``DKIM-Signature: …\\r\\n`` line to prepend to ``raw``."""
        headers, body = _split(raw)
        bh = base64.b64encode(hashlib.sha256(canonical_body(body)).digest()).decode()
        # RFC 6376 §5.4.2: take header instances bottom-up.
        pool: dict[bytes, list[bytes]] = {}
        for name, value in headers:
            pool.setdefault(name.strip().lower(), []).append(value)
        signed: list[bytes] = []
        names: list[str] = []
        for wanted in sign_headers:
            values = pool.get(wanted.lower().encode())
            if values:
                signed.append(canonical_header(wanted.encode(), values.pop()))
                names.append(wanted.lower())
        tags = (
            f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={self.domain}; s={self.selector}; "
            f"t={int(time.time())}; h={':'.join(names)}; bh={bh}; b="
        )
        unsigned = canonical_header(b"DKIM-Signature", tags.encode())[:-2]
        data = b"".join(signed) + unsigned
        signature = self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        b = base64.b64encode(signature).decode()
        # Fold b= so no line is longer than the SMTP limit.
        folded = "\r\n\t".join(b[i : i + 72] for i in range(0, len(b), 72))
        return f"DKIM-Signature: {tags}{folded}\r\n".encode()

    def sign(self, raw: bytes, sign_headers: list[str]) -> bytes:
        return self.signature_header(raw, sign_headers) + raw


def generate_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_record(private_pem: str) -> str:
    """The TXT value to publish at ``<selector>._domainkey.<domain>``."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
