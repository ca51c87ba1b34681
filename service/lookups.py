"""Get one row by its key or answer 404: the one way a service function looks up what a request names."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.problems import NOT_FOUND, Problem

T = TypeVar("T")


async def get_or_404(
    session: AsyncSession,
    model: type[T],
    key: Any,
    what_zh: str,
    what_en: str,
    *,
    column: Any = None,
    lock: bool = False,
) -> T:
    """The row of `model` with primary key `key` (or `column == key`), or a 404 problem naming it:
    "贷款申请 7 不存在。" / "Loan application 7 does not exist." `lock` reads it FOR UPDATE."""
    if column is None:
        row = await session.get(model, key, with_for_update=lock or None)
    else:
        query = select(model).where(column == key)
        row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise Problem(NOT_FOUND, f"{what_zh} {key} 不存在。", f"{what_en} {key} does not exist.")
    return row
