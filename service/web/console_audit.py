"""The auditor's page: the audit log, filtered by entity and actor."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import AuditRecord
from service.auth import allow
from service.web.console import fetch_rows, page_window, pager, render


@get("/console/audit", guards=[allow("auditor")])
async def audit_log(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    entity = request.query_params.get("entity", "").strip()[:64]
    actor = request.query_params.get("actor", "").strip()[:64]
    offset = page_window(request)
    query = select(AuditRecord).order_by(AuditRecord.id.desc())
    if entity:
        query = query.where(AuditRecord.entity == entity)
    if actor:
        query = query.where(AuditRecord.actor.contains(actor))
    rows, total = await fetch_rows(db_session, query, offset)
    tz = request.app.state.settings.tz
    return render(
        request,
        "audit.html",
        entity=entity,
        actor=actor,
        pager=pager(request, total, offset),
        records=[(r, r.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), _changes(r.before, r.after)) for (r,) in rows],
    )


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """What a record changed, field by field (the snapshots are masked already)."""
    before, after = before or {}, after or {}
    keys = [
        k
        for k in dict.fromkeys([*before, *after])
        if before.get(k) != after.get(k) and k not in ("updated_at", "version")
    ]
    return [(k, before.get(k, ""), after.get(k, "")) for k in keys[:12]]


ROUTES: list[Any] = [audit_log]
