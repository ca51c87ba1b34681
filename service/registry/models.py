"""Tables of the registry: universities, students and co-borrowers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UtcDateTime, utcnow
from service.registry.vocabulary import CATEGORIES, LEVELS

__all__ = ["CATEGORIES", "LEVELS", "CoBorrower", "Student", "University"]


class University(Base):
    __tablename__ = "universities"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    province: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    # Personal data: stored once, shown masked, never logged.
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str] = mapped_column(String(11))
    address: Mapped[str | None] = mapped_column(String(200), default=None)
    household_province: Mapped[str] = mapped_column(String(20))
    household_county: Mapped[str] = mapped_column(String(50))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    university_code: Mapped[str] = mapped_column(ForeignKey("universities.code"), index=True)
    level: Mapped[str] = mapped_column(String(20))
    study_years: Mapped[int] = mapped_column(Integer)
    enrolled_on: Mapped[date] = mapped_column(Date)
    expected_graduation: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class CoBorrower(Base):
    """A parent or legal guardian who signs a loan with the student and is equally liable."""

    __tablename__ = "co_borrowers"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str] = mapped_column(String(11))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
