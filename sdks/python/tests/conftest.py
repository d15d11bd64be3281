"""Fixtures for the letterapp tests. Puts src/ and this folder on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

HERE = Path(__file__).resolve().parent
for path in (HERE.parent / "src", HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from letterapp import Letter  # noqa: E402
from letterapp_testing import KEY, Errors, FakeTransport, Sleeps  # noqa: E402


@pytest.fixture()
def errors() -> Errors:
    return Errors()


@pytest.fixture()
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture()
def make_client(errors: Errors, sleeps: Sleeps) -> Iterator[Callable[..., Letter]]:
    """Build clients with a recording on_error and instant sleeps; close them after."""
    clients: List[Letter] = []

    def factory(transport: Any = None, **options: Any) -> Letter:
        options.setdefault("on_error", errors)
        options.setdefault("_sleep", sleeps)
        client = Letter(KEY, transport=transport or FakeTransport(), **options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close(timeout=2)


@pytest.fixture()
def fake() -> FakeTransport:
    return FakeTransport()
