"""Keyset cursor pagination over ``(created_at, id)``, stable under inserts.

>>> cursor = encode_cursor(row.created_at, row.id)   # doctest: +SKIP
>>> page = paginate(session, select(Contact), Contact, PageParams(cursor=cursor))  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from letter.errors import Invalid

__all__ = [
    "PageParams",
    "PageResult",
    "decode_cursor",
    "encode_cursor",
    "paginate",
    "paginate_sorted",
]

T = TypeVar("T")
MAX_LIMIT = 100
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


@dataclass(frozen=True)
class PageResult(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = orjson.dumps([created_at.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = orjson.loads(raw)
        return datetime.fromisoformat(created), uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise Invalid("cursor: not a cursor this API returned") from exc


def paginate(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    model: Any,
    params: PageParams,
    *,
    newest_first: bool = False,
) -> PageResult[Any]:
    """Run ``stmt`` (a select of ``model``, or of rows that include it) for one page."""
    created, ident = model.created_at, model.id
    if params.cursor:
        at, after_id = decode_cursor(params.cursor)
        if newest_first:
            stmt = stmt.where(or_(created < at, and_(created == at, ident < after_id)))
        else:
            stmt = stmt.where(or_(created > at, and_(created == at, ident > after_id)))
    order = (created.desc(), ident.desc()) if newest_first else (created, ident)
    stmt = stmt.order_by(*order).limit(params.limit + 1)
    single = len(stmt.column_descriptions) == 1
    rows: list[Any] = list(session.scalars(stmt) if single else session.execute(stmt))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = None
    if more:
        last = rows[-1] if single else next(x for x in rows[-1] if isinstance(x, model))
        next_cursor = encode_cursor(last.created_at, last.id)
    return PageResult(items=rows, next_cursor=next_cursor)


def paginate_sorted(
    items: Sequence[T], sort_key: Callable[[T], tuple[Any, ...]], params: PageParams
) -> PageResult[T]:
    """One page of a list computed in memory (summaries, not rows), keyset on
    ``sort_key`` like :func:`paginate`: the cursor holds the last key served.

    >>> page = paginate_sorted([3, 1, 2], lambda n: (n,), PageParams(limit=2))
    >>> page.items, paginate_sorted([3, 1, 2], lambda n: (n,),
    ...                             PageParams(cursor=page.next_cursor)).items
    ([1, 2], [3])
    """
    ordered = sorted(items, key=sort_key)
    if params.cursor:
        after = _decode_key(params.cursor)
        shape = [type(v) for v in sort_key(ordered[0])] if ordered else None
        if shape is not None and shape != [type(v) for v in after]:
            raise Invalid("cursor: not a cursor this API returned")
        ordered = [x for x in ordered if sort_key(x) > after]
    page = ordered[: params.limit]
    more = len(ordered) > params.limit
    next_cursor = _encode_key(sort_key(page[-1])) if more else None
    return PageResult(items=page, next_cursor=next_cursor)


def _encode_key(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(["k", *key])).decode().rstrip("=")


def _decode_key(cursor: str) -> tuple[Any, ...]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise Invalid("cursor: not a cursor this API returned") from exc
    if not isinstance(raw, list) or not raw or raw[0] != "k":
        raise Invalid("cursor: not a cursor this API returned")
    return tuple(raw[1:])
