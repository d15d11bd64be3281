"""Public surface, configuration errors and the wire format."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import letterapp
from letterapp import Letter, LetterError, Response, Transport, UrllibTransport
from letterapp_testing import KEY, FakeTransport

SDK_ROOT = Path(__file__).resolve().parents[1]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_all_is_exactly_the_public_names() -> None:
    assert letterapp.__all__ == [
        "ItemRejected",
        "Letter",
        "LetterError",
        "Response",
        "Transport",
        "UrllibTransport",
        "__version__",
    ]
    public = {name for name in vars(letterapp) if not name.startswith("_")}
    # Everything public in the package namespace is in __all__ (no leaked
    # helpers), and everything in __all__ resolves.
    assert public == set(letterapp.__all__) - {"__version__"}
    for name in letterapp.__all__:
        assert getattr(letterapp, name) is not None
    namespace: dict = {}
    exec("from letterapp import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(letterapp.__all__)


def test_version_is_single_sourced_and_typed_marker_ships() -> None:
    assert letterapp.__version__ == "0.1.0"
    pyproject = (SDK_ROOT / "pyproject.toml").read_text()
    assert 'path = "src/letterapp/_version.py"' in pyproject
    assert "dependencies = []" in pyproject
    assert (SDK_ROOT / "src" / "letterapp" / "py.typed").exists()


@pytest.mark.parametrize(
    "api_key",
    [
        None,
        "",
        "lt_live_",
        "lt_live_" + "a" * 47,
        "lt_live_" + "g" * 48,
        "lt_test_" + "a" * 48,
        "lt_live_" + "a" * 49,
        " lt_live_" + "a" * 48,
        42,
    ],
)
def test_missing_or_malformed_key_raises(api_key: object) -> None:
    with pytest.raises(LetterError) as info:
        Letter(api_key, transport=FakeTransport())  # type: ignore[arg-type]
    err = info.value
    assert err.status is None
    assert err.code == "unauthorized"
    assert err.body == {"error": {"code": "unauthorized", "message": err.message}}
    assert "a" * 40 not in str(err)  # never echoes the key


@pytest.mark.parametrize(
    "options",
    [
        {"flush_at": 0},
        {"flush_at": 1.5},
        {"flush_at": True},
        {"flush_interval": -1},
        {"flush_interval": float("nan")},
        {"flush_interval": "0.1"},
        {"max_retries": -1},
        {"timeout": 0},
        {"timeout": float("inf")},
        {"max_queue_size": 0},
        {"on_error": "print"},
        {"skip_triggers": "yes"},
        {"transport": object()},
        {"base_url": "api.letter.app"},
        {"base_url": "ftp://api.letter.app"},
        {"base_url": "https://api.letter.app/?x=1"},
        {"base_url": 42},
    ],
)
def test_bad_options_raise_config_errors(options: dict) -> None:
    options.setdefault("transport", FakeTransport())
    with pytest.raises(LetterError) as info:
        Letter(KEY, **options)
    assert info.value.status is None
    assert info.value.code == "bad_request"
    assert info.value.body["error"]["code"] == "bad_request"


def test_defaults_match_the_documentation() -> None:
    import inspect

    params = inspect.signature(Letter).parameters
    defaults = {name: p.default for name, p in params.items() if not name.startswith("_")}
    assert defaults == {
        "api_key": inspect.Parameter.empty,
        "base_url": None,
        "flush_at": 50,
        "flush_interval": 0.1,
        "max_retries": 3,
        "timeout": 10.0,
        "on_error": None,
        "max_queue_size": 10000,
        "skip_triggers": False,
        "transport": None,
    }
    client = Letter(KEY)
    try:
        assert isinstance(client._transport, UrllibTransport)  # the default transport
    finally:
        client.close()


def test_base_url_falls_back_to_letter_api_url_then_the_hosted_api(monkeypatch) -> None:
    monkeypatch.delenv("LETTER_API_URL", raising=False)
    hosted = Letter(KEY)
    monkeypatch.setenv("LETTER_API_URL", "http://127.0.0.1:8300/")
    self_hosted = Letter(KEY)
    given = Letter(KEY, base_url="http://letter.internal")
    try:
        assert hosted._url == "https://api.letter.app/v1/batch"
        assert self_hosted._url == "http://127.0.0.1:8300/v1/batch"
        assert given._url == "http://letter.internal/v1/batch"
    finally:
        for client in (hosted, self_hosted, given):
            client.close()
    monkeypatch.setenv("LETTER_API_URL", "ftp://nope")
    with pytest.raises(LetterError, match="base_url"):
        Letter(KEY)


def test_requests_carry_headers_url_and_timeout(make_client, fake: FakeTransport) -> None:
    client = make_client(fake, base_url="http://letter.internal:8300/", timeout=4.5)
    client.track("u1", "Signed Up")
    assert client.flush(timeout=5)
    (request,) = fake.requests
    assert request.url == "http://letter.internal:8300/v1/batch"
    assert request.headers["Authorization"] == "Bearer " + KEY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "letterapp-python/0.1.0"
    assert request.timeout == 4.5


def test_wire_format_of_the_three_calls(make_client, fake: FakeTransport) -> None:
    client = make_client(fake)
    client.identify("u1", email="ada@example.com", traits={"plan": "pro"}, timezone="Europe/Paris")
    client.group("u1", "acc_1", name="Acme", traits={"mrr": 49})
    client.track("u1", "Workspace Created", properties={"workspace_id": "w1"})
    client.identify(7)  # ints become strings; omitted fields are not sent
    assert client.flush(timeout=5)
    identify, group, track, minimal = fake.items
    for item in fake.items:
        assert ISO_Z.match(item["timestamp"]), item["timestamp"]
        assert uuid.UUID(item["message_id"]).version == 4
    assert {k: v for k, v in identify.items() if k not in ("timestamp", "message_id")} == {
        "type": "identify",
        "user_id": "u1",
        "email": "ada@example.com",
        "traits": {"plan": "pro"},
        "timezone": "Europe/Paris",
    }
    assert {k: v for k, v in group.items() if k not in ("timestamp", "message_id")} == {
        "type": "group",
        "user_id": "u1",
        "account_id": "acc_1",
        "name": "Acme",
        "traits": {"mrr": 49},
    }
    assert {k: v for k, v in track.items() if k not in ("timestamp", "message_id")} == {
        "type": "track",
        "user_id": "u1",
        "event": "Workspace Created",
        "properties": {"workspace_id": "w1"},
    }
    assert set(minimal) == {"type", "user_id", "timestamp", "message_id"}
    assert minimal["user_id"] == "7"
    assert len({item["message_id"] for item in fake.items}) == 4
    assert fake.requests[0].json["skip_triggers"] is False


def test_timestamp_defaults_to_now_in_utc(make_client, fake: FakeTransport) -> None:
    client = make_client(fake)
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    sent = datetime.strptime(fake.items[0]["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    sent = sent.replace(tzinfo=timezone.utc)
    assert before <= sent <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_given_timestamps_and_values_are_serialised(make_client, fake: FakeTransport) -> None:
    client = make_client(fake)
    paris = timezone(timedelta(hours=2))
    client.track("u1", "A", timestamp=datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=paris))
    client.track("u1", "B", timestamp=datetime(2024, 5, 1, 10, 0))  # naive: taken as UTC
    client.track("u1", "C", timestamp="2024-05-01T10:00:00+02:00")  # strings pass through
    client.track(
        "u1",
        "D",
        properties={
            "at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
            "day": date(2024, 1, 2),
            "id": uuid.UUID(int=1),
            "price": Decimal("9.5"),
            "count": Decimal("3"),
            "tags": ("a", "b"),
            "unicode": "café ☕",
        },
        message_id="order-42",
    )
    assert client.flush(timeout=5)
    a, b, c, d = fake.items
    assert a["timestamp"] == "2024-05-01T10:30:15.123Z"
    assert b["timestamp"] == "2024-05-01T10:00:00.000Z"
    assert c["timestamp"] == "2024-05-01T10:00:00+02:00"
    assert d["message_id"] == "order-42"
    assert d["properties"] == {
        "at": "2024-01-02T03:04:05.000Z",
        "day": "2024-01-02",
        "id": "00000000-0000-0000-0000-000000000001",
        "price": 9.5,
        "count": 3,
        "tags": ["a", "b"],
        "unicode": "café ☕",
    }


def test_skip_triggers_is_sent_on_every_batch(make_client, fake: FakeTransport) -> None:
    client = make_client(fake, skip_triggers=True, flush_at=2)
    for i in range(5):
        client.identify("u%d" % i)
    assert client.flush(timeout=5)
    assert len(fake.requests) == 3
    assert all(request.json["skip_triggers"] is True for request in fake.requests)


def test_top_level_dicts_are_copied_at_call_time(make_client, fake: FakeTransport) -> None:
    client = make_client(fake, flush_interval=60, flush_at=100)
    traits = {"plan": "free"}
    client.identify("u1", traits=traits)
    traits["plan"] = "pro"
    assert client.flush(timeout=5)
    assert fake.items[0]["traits"] == {"plan": "free"}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.track("", "E"),
        lambda c: c.track(None, "E"),
        lambda c: c.track(True, "E"),
        lambda c: c.track("u1", ""),
        lambda c: c.track("u1", None),
        lambda c: c.track("u1", "E", properties=["x"]),
        lambda c: c.track("u1", "E", timestamp=1714550400),
        lambda c: c.track("u1", "E", message_id=""),
        lambda c: c.identify("u1", email=5),
        lambda c: c.identify("u1", traits="plan=pro"),
        lambda c: c.identify("u1", timezone=2),
        lambda c: c.group("u1", ""),
        lambda c: c.group("u1", "a1", name=3),
    ],
)
def test_invalid_arguments_raise_immediately(make_client, fake: FakeTransport, call) -> None:
    client = make_client(fake)
    with pytest.raises(LetterError) as info:
        call(client)
    assert info.value.code == "bad_request" and info.value.status is None
    assert client.flush(timeout=5)
    assert fake.requests == []


def test_closed_client_refuses_calls(make_client, fake: FakeTransport) -> None:
    client = make_client(fake)
    client.track("u1", "E")
    assert client.close(timeout=5) is True
    assert len(fake.items) == 1
    for call in (
        lambda: client.track("u1", "E"),
        lambda: client.identify("u1"),
        lambda: client.group("u1", "a1"),
        lambda: client.flush(),
    ):
        with pytest.raises(LetterError) as info:
            call()
        assert info.value.code == "client_closed"
    assert client.close() is True  # closing twice is harmless
    assert not client._consumer.thread.is_alive()


def test_context_manager_closes_and_sends(fake: FakeTransport) -> None:
    with Letter(KEY, transport=fake, flush_interval=60, flush_at=100) as client:
        client.track("u1", "E")
    assert len(fake.items) == 1
    with pytest.raises(LetterError):
        client.track("u1", "E")


def test_letter_error_shape_and_text() -> None:
    err = LetterError("Invalid API key", code="unauthorized", status=401)
    assert err.body == {"error": {"code": "unauthorized", "message": "Invalid API key"}}
    assert str(err) == "unauthorized (HTTP 401): Invalid API key"
    assert isinstance(err, Exception)
    assert "unauthorized" in repr(err)


def test_response_header_lookup_is_case_insensitive() -> None:
    response = Response(429, {"retry-after": "3"}, b"")
    assert response.header("Retry-After") == "3"
    assert response.header("X-Missing") is None
    assert Response(200).body == b"" and Response(200).headers == {}


def test_transport_protocol_accepts_any_object_with_send(make_client) -> None:
    class Minimal:
        def __init__(self) -> None:
            self.bodies: list = []

        def send(self, url, headers, body, timeout):
            self.bodies.append(body)
            return Response(200, {}, b"{}")

    transport: Transport = Minimal()
    client = make_client(transport)
    client.track("u1", "E")
    assert client.flush(timeout=5)
    assert len(transport.bodies) == 1  # type: ignore[attr-defined]


def test_repr_does_not_leak_the_key(make_client) -> None:
    client = make_client()
    assert KEY not in repr(client)
    assert "api.letter.app" in repr(client)
