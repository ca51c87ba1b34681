"""A small key/value table for facts about the installation itself (e.g. that demo data was loaded)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UtcDateTime, utcnow


class ServiceMeta(Base):
    __tablename__ = "service_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


async def get_meta(session: AsyncSession, key: str) -> str | None:
    return await session.scalar(select(ServiceMeta.value).where(ServiceMeta.key == key))


async def set_meta(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(ServiceMeta, key)
    if row is None:
        session.add(ServiceMeta(key=key, value=value))
    else:
        row.value = value
    await session.flush()
