"""List paging shared by every list endpoint: `limit`, `offset` and the total count."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import INVALID_REQUEST, Problem

T = TypeVar("T")
MAX_LIMIT = 500
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]  # a list endpoint's `limit` and `offset`
Offset = Annotated[int, QueryParameter(ge=0)]
_TOTAL = func.count().over()  # built once: SQL constructs are immutable, and building one costs every list request


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def check_window(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(
            INVALID_REQUEST,
            f"limit 须在 1 到 {MAX_LIMIT} 之间。",
            f"limit must be between 1 and {MAX_LIMIT}.",
            field="limit",
        )
    if offset < 0:
        raise Problem(INVALID_REQUEST, "offset 不能为负数。", "offset must not be negative.", field="offset")


async def fetch_rows(
    session: AsyncSession, query: Select[Any], limit: int, offset: int
) -> tuple[list[tuple[Any, ...]], int]:
    """One page of a query's rows (one column or several, joined lists too) and the total, in one statement: the
    total rides along on every row as `count(*) OVER ()`. Only a page past the end (no rows, so no total) or a
    DISTINCT query (whose window would count rows before DISTINCT) counts apart, over the query as a subquery so
    that it keeps every FROM of the list."""
    check_window(limit, offset)
    if not query._distinct:
        rows = (await session.execute(query.add_columns(_TOTAL).limit(limit).offset(offset))).all()
        if rows:
            return [tuple(row)[:-1] for row in rows], int(rows[0][-1])
        page: list[tuple[Any, ...]] = []
    else:
        page = [tuple(row) for row in (await session.execute(query.limit(limit).offset(offset))).all()]
    total = (
        0
        if not page and offset == 0
        else await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    )
    return page, int(total or 0)


async def fetch_page(session: AsyncSession, query: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    """One page of a one-entity (or one-column) query and the total (see fetch_rows)."""
    rows, total = await fetch_rows(session, query, limit, offset)
    return [row[0] for row in rows], total
