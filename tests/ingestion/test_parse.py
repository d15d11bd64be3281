"""Item validation and the deep merge, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letter.ingestion.merge import deep_merge
from letter.ingestion.parse import ItemRejected, parse_item
from letter.ingestion.service import credential_from_header, wants_skip_triggers


def test_camel_case_and_snake_case_spellings():
    a = parse_item({"type": "group", "userId": "u", "groupId": "g", "messageId": "m"}, 0)
    b = parse_item({"type": "group", "user_id": "u", "account_id": "g", "message_id": "m"}, 0)
    c = parse_item({"type": "group", "user_id": "u", "accountId": "g", "message_id": "m"}, 0)
    assert (a.user_id, a.account_id, a.message_id) == ("u", "g", "m")
    assert (b.account_id, c.account_id) == ("g", "g")


def test_numeric_ids_become_strings_and_booleans_do_not():
    assert parse_item({"type": "track", "userId": 42, "event": "E"}, 0).user_id == "42"
    with pytest.raises(ItemRejected):
        parse_item({"type": "track", "userId": True, "event": "E"}, 0)


def test_email_from_traits_and_timestamp_forms():
    item = parse_item({"type": "identify", "user_id": "u", "traits": {"email": "a@b.example"},
                       "timestamp": "2024-01-01T00:00:00"}, 0)
    assert item.email == "a@b.example"
    assert item.timestamp == datetime(2024, 1, 1, tzinfo=UTC)
    z = parse_item({"type": "track", "user_id": "u", "event": "E",
                    "timestamp": "2024-01-01T02:00:00+02:00"}, 0)
    assert z.timestamp == datetime(2024, 1, 1, tzinfo=UTC)


def test_boundaries_of_ids_and_names():
    parse_item({"type": "track", "user_id": "u" * 255, "event": "e" * 255}, 0)
    for bad in ({"user_id": "u" * 256, "event": "E"}, {"user_id": "u", "event": "e" * 256}):
        with pytest.raises(ItemRejected):
            parse_item({"type": "track", **bad}, 0)


def test_credentials_from_bearer_and_basic():
    assert credential_from_header("Bearer lt_live_abc") == "lt_live_abc"
    assert credential_from_header("bearer  lt_live_abc ") == "lt_live_abc"
    assert credential_from_header("Basic bHRfbGl2ZV9hYmM6") == "lt_live_abc"  # "lt_live_abc:"


def test_skip_triggers_spellings():
    assert wants_skip_triggers({"skipTriggers": True}, None)
    assert wants_skip_triggers({}, "1") and wants_skip_triggers({}, "true")
    assert not wants_skip_triggers({}, "0") and not wants_skip_triggers({}, None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                max_size=3),
    max_leaves=10,
)
objects = st.dictionaries(st.text(max_size=2), json_values, max_size=4)


@given(objects, objects)
def test_merge_keeps_every_key_and_incoming_scalars_win(stored, incoming):
    merged = deep_merge(stored, incoming)
    assert set(merged) == set(stored) | set(incoming)
    for key, value in incoming.items():
        if isinstance(value, dict) and isinstance(stored.get(key), dict):
            assert merged[key] == deep_merge(stored[key], value)
        else:
            assert merged[key] == value


@given(objects, objects)
def test_merge_is_idempotent(stored, incoming):
    once = deep_merge(stored, incoming)
    assert deep_merge(once, incoming) == once


def reference_email(value):
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        return None


def our_email(value):
    from letter.emails import InvalidEmail, normalize_email

    try:
        return normalize_email(value)
    except InvalidEmail:
        return None


EMAIL_CASES = ["a@b.com", "A@EXAMPLE.com", "a..b@x.com", ".a@x.com", "a.@x.com", "a@x",
               "a@localhost", "a@x.local", "a@-x.com", "a@x..com", "a@x.123", "x" * 64 + "@a.com",
               "x" * 65 + "@a.com", "a@" + "b" * 64 + ".com", "a@" + ("b" * 60 + ".") * 4 + "com",
               "a b@x.com", '"a b"@x.com', "a@[1.2.3.4]", "é@x.com", "a@é.com", "a@x.test",
               "a@x.com.", "@x.com", "a@", "a@@b.com", "a@b@c.com"]


@pytest.mark.parametrize("value", EMAIL_CASES)
def test_email_check_agrees_with_email_validator(value):
    assert our_email(value) == reference_email(value)


@given(st.from_regex(r"[A-Za-z0-9.+_\-]{0,70}@[A-Za-z0-9.\-]{0,30}", fullmatch=True))
def test_email_check_agrees_with_email_validator_on_generated_addresses(value):
    assert our_email(value) == reference_email(value)
