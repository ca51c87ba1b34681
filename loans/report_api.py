"""HTTP for the loan reports (each also as .xlsx with `?format=xlsx`) and the subsidy settlement."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from loans import aging, default_rate, reports, subsidy
from loans.applications import parse_amount
from loans.imports.workbooks import xlsx_response
from loans.report_xlsx import Column, json_row, workbook
from loans.schemas import Money
from service.auth import STAFF_READERS, allow
from service.money import format_yuan

Format = Literal["json", "xlsx"]
Year = Annotated[int, QueryParameter(ge=2000, le=2100)]


class SettlementIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    amount: Money
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:/-]+$")]
    settled_on: date | None = None


def _today(request: Request) -> date:
    return datetime.now(request.app.state.settings.tz).date()


def _table(fmt: Format, filename: str, sheet: str, title: str, columns: list[Column], rows: list[dict[str, Any]],
           body: dict[str, Any]) -> Any:
    if fmt == "xlsx":
        return xlsx_response(workbook(sheet, title, columns, rows), filename)
    return {**body, "rows": [json_row(columns, r) for r in rows]}


LOANS_COLUMNS = [Column("scope", "口径"), Column("students", "学生人数", "int"),
                 Column("contracts", "合同笔数", "int"), Column("amount", "贷款金额（元）", "yuan")]
AGING_COLUMNS = [Column("bucket", "账龄"), Column("label", "账龄（天）"), Column("contracts", "逾期合同数", "int"),
                 Column("principal", "逾期本金（元）", "yuan"), Column("interest", "逾期利息（元）", "yuan")]
SUBSIDY_COLUMNS = [Column("university_code", "高校代码"), Column("university", "高校"),
                   Column("contracts", "合同笔数", "int"), Column("unsettled", "待结贴息（元）", "yuan")]


def default_columns(by: str) -> list[Column]:
    return [Column("group", default_rate.DIMENSIONS[by][0]), Column("label", "名称"),
            Column("principal_due", "到期本金（元）", "yuan"), Column("overdue_principal", "逾期本金（元）", "yuan"),
            Column("amount_rate", "金额违约率", "percent"), Column("borrowers", "进入还款期借款人数", "int"),
            Column("defaulting", "违约借款人数", "int"), Column("borrower_rate", "人数违约率", "percent")]


async def loans_answer(session: AsyncSession, year: int, format: Format) -> Any:
    r = await reports.loans_report(session, year)
    if format == "xlsx":
        rows = [{"scope": label, "students": t.students, "contracts": t.contracts, "amount": t.amount}
                for label, t in ((f"{year} 学年", r["year"]), ("其中建档立卡", r["registered_poor"]),
                                 (f"累计（至 {year} 学年）", r["cumulative"]))]
        return xlsx_response(workbook("贷款统计", f"{year} 学年生源地信用助学贷款统计", LOANS_COLUMNS, rows),
                             f"贷款统计-{year}.xlsx")

    def out(t: reports.Totals) -> dict[str, Any]:
        return {"students": t.students, "contracts": t.contracts, "amount": format_yuan(t.amount)}

    return {"year": year, **out(r["year"]), "registered_poor": out(r["registered_poor"]),
            "cumulative": out(r["cumulative"])}


async def aging_answer(session: AsyncSession, day: date, format: Format) -> Any:
    rows = [dict(bucket=r.bucket, label=r.label, contracts=r.contracts, principal=r.principal,
                 interest=r.interest) for r in await aging.aging(session, day)]
    totals = {"contracts": sum(r["contracts"] for r in rows), "principal": format_yuan(sum(r["principal"] for r in rows)),
              "interest": format_yuan(sum(r["interest"] for r in rows))}
    return _table(format, f"逾期账龄-{day}.xlsx", "逾期账龄", f"逾期账龄分析（截至 {day}）", AGING_COLUMNS, rows,
                  {"as_of": day.isoformat(), "total": totals})


async def default_rate_answer(session: AsyncSession, by: str, day: date, format: Format) -> Any:
    found = await default_rate.default_rates(session, by, day)

    def row(r: default_rate.DefaultRow) -> dict[str, Any]:
        return dict(group=r.group, label=r.label, principal_due=r.principal_due,
                    overdue_principal=r.overdue_principal, amount_rate=r.amount_rate, borrowers=r.borrowers,
                    defaulting=r.defaulting, borrower_rate=r.borrower_rate)

    rows = [row(r) for r in found]
    total = row(default_rate.total(found))
    columns = default_columns(by)
    return _table(format, f"违约率-{by}-{day}.xlsx", "违约率", f"违约率（按{default_rate.DIMENSIONS[by][0]}，截至 {day}）",
                  columns, [*rows, total] if format == "xlsx" else rows,
                  {"as_of": day.isoformat(), "by": by, "total": json_row(columns, total)})


async def subsidy_answer(session: AsyncSession, year: int, format: Format) -> Any:
    b = await subsidy.bill(session, year)
    rows = [dict(university_code=code, university=name, contracts=n, unsettled=x)
            for code, name, n, x in b.by_university]
    return _table(format, f"财政贴息-{year}.xlsx", "财政贴息", f"{year} 年财政贴息结算单", SUBSIDY_COLUMNS, rows,
                  {"year": year, "amount": format_yuan(b.unsettled), "billed": format_yuan(b.billed),
                   "settled": format_yuan(b.settled), "contracts": b.contracts, "lines": b.lines,
                   "unrecognised_lines": b.unrecognised})


class LoanReportController(Controller):
    """The answers are module functions, so the console's downloads give the same files."""

    path = "/api/v1/reports"
    tags = ["reports"]
    guards = [allow(*STAFF_READERS)]

    @get("/loans", summary="Loans of an academic year, of which registered-poor, and cumulative (?format=xlsx)")
    async def loans(self, year: FromQuery[Year], db_session: NamedDependency[AsyncSession],
                    format: FromQuery[Format] = "json") -> Any:
        return await loans_answer(db_session, year, format)

    @get("/aging", summary="Overdue contracts by days past due (1–30, 31–90, 91–180, 181–365, >365)")
    async def aging(self, db_session: NamedDependency[AsyncSession], request: Request,
                    as_of: FromQuery[date | None] = None, format: FromQuery[Format] = "json") -> Any:
        return await aging_answer(db_session, as_of or _today(request), format)

    @get("/default-rate", summary="Default rate by county, university, graduation year or contract year")
    async def default_rate(self, db_session: NamedDependency[AsyncSession], request: Request,
                           by: FromQuery[Literal["county", "university", "graduation_year", "contract_year"]] = "county",
                           as_of: FromQuery[date | None] = None, format: FromQuery[Format] = "json") -> Any:
        return await default_rate_answer(db_session, by, as_of or _today(request), format)

    @get("/subsidy", summary="The government's subsidy bill (财政贴息) of a year")
    async def subsidy(self, year: FromQuery[Year], db_session: NamedDependency[AsyncSession],
                      format: FromQuery[Format] = "json") -> Any:
        return await subsidy_answer(db_session, year, format)


class SubsidySettlementController(Controller):
    path = "/api/v1/subsidy-settlements"
    tags = ["reports"]

    @post("/", guards=[allow("officer")], summary="The state paid a year's subsidy bill",
          description="`amount` must equal the bill (422 states the difference). The same `reference` again "
                      "returns the first settlement (200); with another year or amount it is a 409.")
    async def settle(self, data: JSONBody[SettlementIn], db_session: NamedDependency[AsyncSession],
                     request: Request) -> Response[dict[str, Any]]:
        amount = parse_amount(data.amount)
        item, created = await subsidy.settle(db_session, data.year, amount, data.reference,
                                             data.settled_on or _today(request), request.user.actor)
        return Response(content={"id": item.id, "year": item.year, "amount": format_yuan(item.amount),
                                 "reference": item.reference, "contracts": item.contracts, "lines": item.lines,
                                 "settled_on": item.settled_on.isoformat()}, status_code=201 if created else 200)


ROUTES: list[Any] = [LoanReportController, SubsidySettlementController]
