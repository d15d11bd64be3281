"""The batcher's encoding: the reused JSON encoder, message ids and timestamps."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from letterapp._messages import encode, format_epoch, make_encoder, new_message_id

VALUES = [
    {"type": "track", "user_id": "u1", "properties": {"a": [1, 2.5, None, True, False]}},
    {"text": 'caf\u00e9 \u2603 "quoted" \\ \n\t\u0001', "emoji": "\U0001f600"},
    {"when": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc), "day": date(2024, 5, 6)},
    {"id": uuid.UUID(int=7), "price": Decimal("9.50"), "count": Decimal("3"), "tags": {"x"}},
    {"big": 10**30, "neg": -0.0, "nested": {"deep": [[[{"k": "v"}]]]}},
    {},
]


@pytest.mark.parametrize("value", VALUES)
def test_the_reused_encoder_answers_like_the_standard_one(value) -> None:
    fast = make_encoder()
    assert fast is not encode  # CPython has the C encoder
    assert fast(value) == encode(value)
    assert fast(value) == encode(value)  # and again, reused


@pytest.mark.parametrize(
    "value",
    [{"nan": float("nan")}, {"inf": float("-inf")}, {"obj": object()}, {(1, 2): "tuple key"}],
)
def test_the_reused_encoder_refuses_what_the_standard_one_refuses(value) -> None:
    fast = make_encoder()
    with pytest.raises((TypeError, ValueError)) as expected:
        encode(value)
    with pytest.raises(type(expected.value)) as got:
        fast(value)
    assert str(got.value) == str(expected.value)


def test_the_reused_encoder_detects_cycles_and_recovers_from_failures() -> None:
    fast = make_encoder()
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular reference"):
        fast(loop)
    outer = {"ok": 1, "bad": object()}
    with pytest.raises(TypeError):
        fast(outer)  # fails half-way through ``outer``...
    del outer["bad"]
    assert fast(outer) == b'{"ok":1}'  # ...which is no cycle the next time


def test_message_ids_are_random_version_4_uuids() -> None:
    ids = [new_message_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert {text[19] for text in ids} == set("89ab")


def test_format_epoch_matches_strftime_across_seconds() -> None:
    start = time.time()
    for offset in (0.0, 0.0004, 0.5, 0.9996, 1.0, 1.25, -3600.5, 86400 * 400 + 0.001):
        seconds = start + offset
        whole = int(seconds)
        expected = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % int(
            (seconds - whole) * 1000
        )
        assert format_epoch(seconds) == expected
