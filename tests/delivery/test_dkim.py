"""The DKIM signer against dkimpy, the reference verifier."""

from __future__ import annotations

import dkim
import pytest

from letter.delivery.dkim import (
    DkimSigner,
    canonical_body,
    canonical_header,
    generate_key,
    public_record,
)
from letter.delivery.mime import SIGNED_HEADERS, SenderHeaders, build_message

KEY = generate_key()


def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
    assert name == b"sel._domainkey.acme.test."
    return public_record(KEY).encode()


def test_relaxed_canonicalisation():
    assert canonical_header(b"SubJect ", b" a \t b\r\n\tc  ") == b"subject:a b c\r\n"
    assert canonical_body(b"a  b \t\r\nc\r\n\r\n\r\n") == b"a b\r\nc\r\n"
    assert canonical_body(b"") == b""
    assert canonical_body(b"\r\n\r\n") == b""


@pytest.mark.parametrize("subject", ["Plain", "Ünïcödé subject " * 6, "a" * 200])
def test_signed_message_verifies_with_dkimpy(subject):
    sender = SenderHeaders.build(from_name="Acmé", from_email="hi@acme.test",
                                 reply_to="help@acme.test", list_id="acme.letter.localhost")
    raw = build_message(sender, to="ada@example.com", subject=subject,
                        message_id="<1@acme.test>", unsubscribe_https="https://l.test/u/x",
                        unsubscribe_mailto="mailto:u@acme.test", text="Hi  there \n\n\n",
                        html="<p>Hi</p>" * 50)
    signed = DkimSigner("acme.test", "sel", KEY).sign(raw, SIGNED_HEADERS)
    assert dkim.verify(signed, dnsfunc=dnsfunc)
    tampered = signed.replace(b"Hi  there", b"Hi  thera")
    assert not dkim.verify(tampered, dnsfunc=dnsfunc)
