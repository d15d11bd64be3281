"""The ``?limit=&cursor=`` query parameters every list endpoint takes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from letter.db.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageParams

__all__ = ["PageDep", "page_params"]


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size, 1-100.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]
