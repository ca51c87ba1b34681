"""What the registry endpoints take and give (msgspec structs: validated on the way in)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Level = Literal["junior_college", "undergraduate", "graduate"]
Category = Literal["registered_poor", "minimum_allowance", "destitute", "orphan", "disabled", "other"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class UniversityIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z]{1,20}$")]
    name: Text
    province: Annotated[str, msgspec.Meta(min_length=2, max_length=20)]


class UniversityOut(msgspec.Struct):
    code: str
    name: str
    province: str


class StudentIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    household_county: Text
    household_province: Annotated[str, msgspec.Meta(min_length=2, max_length=20)]
    university_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    level: Level
    study_years: Annotated[int, msgspec.Meta(ge=1, le=8)]
    enrolled_on: date
    expected_graduation: date
    categories: list[Category] = []
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class StudentPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update; `version` is the one the client read (optimistic locking)."""

    version: int
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    categories: list[Category] | None = None
    university_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None
    level: Level | None = None
    study_years: Annotated[int, msgspec.Meta(ge=1, le=8)] | None = None
    expected_graduation: date | None = None


class StudentOut(msgspec.Struct):
    id: int
    name: str
    id_number: str  # masked
    phone: str  # masked
    household_county: str
    household_province: str
    categories: list[str]
    university_code: str
    level: str
    study_years: int
    enrolled_on: date
    expected_graduation: date
    address: str | None
    version: int
    created_at: datetime
