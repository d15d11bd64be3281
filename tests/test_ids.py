"""Bulk ids are valid version-7 UUIDs, distinct and in increasing order."""

from __future__ import annotations

import uuid

from letter.ids import uuid7, uuid7_batch


def test_a_batch_is_distinct_ordered_version_7():
    batch = uuid7_batch(5000)
    assert len(set(batch)) == 5000 and batch == sorted(batch)
    assert {u.version for u in batch} == {7}
    assert {u.variant for u in batch} == {uuid.RFC_4122}
    assert all(uuid.UUID(u.hex) == u and hash(u) == hash(uuid.UUID(u.hex)) for u in batch[:50])
    assert uuid7().int >> 80 >= batch[0].int >> 80  # the same clock
