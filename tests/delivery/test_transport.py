"""SMTP transport against real aiosmtpd servers: STARTTLS + AUTH, implicit TLS,
pooled connections; and the file transport."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from letter.delivery.mime import OutgoingEmail
from letter.delivery.transport import FileTransport, SmtpConfig, SmtpTransport
from tests.servers import SmtpServer


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
                  ) -> AuthResult:
    ok = auth_data.login == b"letter" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


def mail(n: int) -> list[OutgoingEmail]:
    return [OutgoingEmail("from@acme.test", f"r{i}@example.com",
                          f"Subject: {i}\r\n\r\nbody {i}\r\n".encode(), str(i)) for i in range(n)]


def test_starttls_with_auth(tls_context):
    server = SmtpServer(tls_context=tls_context, require_starttls=True,
                        authenticator=authenticator, auth_required=True).start()
    try:
        good = SmtpTransport(SmtpConfig.parse(
            f"smtp://letter:s3cret@127.0.0.1:{server.port}?starttls=1&verify=0&pool=2"))
        assert all(r.ok for r in good.send(mail(4)))
        assert all(r.ok for r in good.send(mail(2)))
        assert len(server.messages) == 6
        assert len(server.handler.peers) <= 2  # the pool's connections were reused
        good.close()
        wrong = SmtpTransport(SmtpConfig.parse(
            f"smtp://letter:nope@127.0.0.1:{server.port}?starttls=1&verify=0"))
        results = wrong.send(mail(1))
        assert not results[0].ok and results[0].detail.startswith("connect")
        plain = SmtpTransport(SmtpConfig.parse(f"smtp://127.0.0.1:{server.port}"))
        assert not any(r.ok for r in plain.send(mail(1)))
    finally:
        server.stop()


def test_implicit_tls(tls_context):
    server = SmtpServer(ssl_context=tls_context).start()
    try:
        transport = SmtpTransport(SmtpConfig.parse(f"smtps://127.0.0.1:{server.port}?verify=0"))
        assert all(r.ok for r in transport.send(mail(3)))
        assert len(server.messages) == 3
        strict = SmtpTransport(SmtpConfig.parse(f"smtps://127.0.0.1:{server.port}"))
        assert not strict.send(mail(1))[0].ok  # a self-signed certificate is refused
    finally:
        server.stop()


def test_reconnects_after_the_server_drops_an_idle_connection():
    server = SmtpServer().start()
    transport = SmtpTransport(SmtpConfig.parse(f"{server.url}?pool=1"))
    assert transport.send(mail(1))[0].ok
    server.stop()
    # A new server on the same port: the pooled connection is dead.
    server.controller = Controller(server.handler, hostname="127.0.0.1", port=server.port)
    server.start()
    try:
        assert transport.send(mail(1))[0].ok
    finally:
        server.stop()


def test_smtp_url_parsing():
    config = SmtpConfig.parse("smtps://u%40x:p%3Aw@mail.test?pool=4")
    assert (config.host, config.port, config.username, config.password) == (
        "mail.test", 465, "u@x", "p:w")
    assert config.implicit_tls and config.pool_size == 4 and config.verify_tls
    with pytest.raises(ValueError):
        SmtpConfig.parse("http://x")


def test_file_transport_writes_one_eml_per_message(tmp_path: Path):
    results = FileTransport(tmp_path / "outbox").send(mail(2))
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2 and all(r.ok for r in results)
    assert {f.read_bytes() for f in files} == {m.data for m in mail(2)}
