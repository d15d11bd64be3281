"""Real servers on loopback for tests: SMTP (aiosmtpd) and DNS (dnslib)."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSServer


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any


@dataclass
class SmtpHandler:
    """Accepts everything except recipients starting with ``perm-`` (550) or
    ``temp-`` (451); remembers each message and the connections it came on."""

    messages: list[Received] = field(default_factory=list)
    peers: set[Any] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address.startswith("perm-"):
            return "550 5.1.1 no such user"
        if address.startswith("temp-"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content,
                                          session.peer))
            self.peers.add(session.peer)
        return f"250 OK queued as q{len(self.messages)}"


class SmtpServer:
    def __init__(self, **controller_kwargs: Any) -> None:
        self.handler = SmtpHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     **controller_kwargs)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


class TxtResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        values = self.txt.get(name)
        if request.q.qtype == QTYPE.TXT and values:
            for value in values:
                chunks = [value[i : i + 255] for i in range(0, len(value), 255)]
                reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        elif values is None:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class DnsServer:
    def __init__(self) -> None:
        self.resolver = TxtResolver()
        self.port = free_port(socket.SOCK_DGRAM)
        self.server = DNSServer(self.resolver, port=self.port, address="127.0.0.1")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def publish(self, name: str, value: str) -> None:
        self.resolver.txt.setdefault(name.lower(), []).append(value)

    def start(self) -> DnsServer:
        self.server.start_thread()
        return self

    def stop(self) -> None:
        self.server.stop()


def dkim_dnsfunc(address: str) -> Any:
    """A dkimpy ``dnsfunc`` that asks the loopback DNS server."""
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    host, port = address.rsplit(":", 1)
    resolver.nameservers = [host]
    resolver.port = int(port)

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        return b"".join(b"".join(r.strings) for r in answer)

    return lookup


_ = asyncio  # aiosmtpd runs its own loop thread
