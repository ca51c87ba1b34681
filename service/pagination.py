"""List paging shared by every list endpoint: `limit`, `offset` and the total count."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import INVALID_REQUEST, Problem

T = TypeVar("T")
MAX_LIMIT = 500


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def check_window(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(INVALID_REQUEST, f"limit 须在 1 到 {MAX_LIMIT} 之间。",
                      f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    if offset < 0:
        raise Problem(INVALID_REQUEST, "offset 不能为负数。", "offset must not be negative.", field="offset")


async def fetch_page(session: AsyncSession, query: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    check_window(limit, offset)
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.scalars(query.limit(limit).offset(offset))).all()
    return list(rows), int(total or 0)
