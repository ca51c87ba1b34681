"""The loan policy's rows (limits, rates, terms: added as notices come, never changed) and the nightly batch's
door."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.batch import close_of_business as batch
from loans.models import PolicyRule
from loans.policy import KINDS, PolicyError, validate_row
from loans.schemas import BatchIn, BatchOut, PolicyIn, PolicyOut
from service import audit
from service.auth import STAFF_READERS, allow
from service.dates import check_date
from service.errors import CONFLICT, UNPROCESSABLE, Problem
from service.pagination import Limit, Offset, Page, fetch_page


class BatchController(Controller):
    path = "/api/v1/batch"
    tags = ["loans"]

    @post(
        "/close-of-business",
        guards=[allow("officer")],
        status_code=200,
        summary="Run the nightly batch for a business date (catching up missed days)",
        description="Running it again for a date already run changes nothing. The date may not be in the future.",
    )
    async def close_of_business(
        self, data: JSONBody[BatchIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> BatchOut:
        check_date(data.as_of, "as_of", today=request.app.state.settings.today())  # no batch ahead of time
        report = await batch.close_of_business(db_session, data.as_of, request.user.actor)
        return BatchOut(
            as_of=report.as_of,
            days_run=report.days_run,
            contracts_booked=report.contracts_booked,
            interest_entries=report.interest_entries,
            lines_due=report.lines_due,
            lines_overdue=report.lines_overdue,
            penalty_entries=report.penalty_entries,
            status_changes=report.status_changes,
            credit_applied=report.credit_applied,
            prepayments_executed=report.prepayments_executed,
            prepayments_failed=report.prepayments_failed,
            collection_attempts={d.isoformat(): n for d, n in report.collection_attempts.items()},
            reminders_queued=report.reminders_queued,
        )


def _policy_out(r: PolicyRule) -> PolicyOut:
    return PolicyOut(
        id=r.id,
        kind=r.kind,
        key=r.key,
        effective_from=r.effective_from,
        value=r.value,
        source=r.source,
        label=KINDS[r.kind].label_zh if r.kind in KINDS else r.kind,
    )


class LoanPolicyController(Controller):
    path = "/api/v1/loan-policy"
    tags = ["loans"]

    @get("/", guards=[allow(*STAFF_READERS)], summary="Policy rows with their effective dates")
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        kind: FromQuery[str | None] = None,
        limit: Limit = 500,
        offset: Offset = 0,
    ) -> Page[PolicyOut]:
        query = select(PolicyRule).order_by(PolicyRule.kind, PolicyRule.key, PolicyRule.effective_from)
        if kind:
            query = query.where(PolicyRule.kind == kind)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(items=[_policy_out(r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", guards=[allow()], summary="Add a policy row (admin): a new notice, not a code change")
    async def add(
        self, data: JSONBody[PolicyIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> PolicyOut:
        try:
            validate_row(data.kind, data.key, data.value)
        except PolicyError as exc:
            raise Problem(UNPROCESSABLE, exc.message_zh, exc.message_en, field="value") from None
        clash = await db_session.scalar(
            select(PolicyRule.id).where(
                PolicyRule.kind == data.kind,
                PolicyRule.key == data.key,
                PolicyRule.effective_from == data.effective_from,
            )
        )
        if clash is not None:
            raise Problem(
                CONFLICT,
                "同一日期已有该政策值；政策只增不改，请换一个生效日期。",
                "A row for that kind and date exists; policy rows are added, not changed.",
                field="effective_from",
            )
        row = PolicyRule(
            kind=data.kind,
            key=data.key,
            effective_from=data.effective_from,
            value=data.value.strip(),
            source=data.source.strip(),
            created_by=request.user.actor,
        )
        db_session.add(row)
        await db_session.flush()
        db_session.info.pop("loan_policy_rows", None)
        await audit.record(
            db_session, request.user.actor, "create", "loan_policy", row.id, None, audit.model_snapshot(row)
        )
        return _policy_out(row)


ROUTES: list[Any] = [LoanPolicyController, BatchController]
