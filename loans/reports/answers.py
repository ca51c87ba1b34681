"""The loan reports' answers, as JSON or as an .xlsx file: what the API gives and the console downloads."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from loans.reports import aging, default_rate
from loans.reports import portfolio as reports
from loans.reports.tables import Column, json_row, workbook
from loans.servicing import subsidy
from service.money import format_yuan
from service.responses import xlsx_response

Format = Literal["json", "xlsx"]


def _table(
    fmt: Format,
    filename: str,
    sheet: str,
    title: str,
    columns: list[Column],
    rows: list[dict[str, Any]],
    body: dict[str, Any],
) -> Any:
    if fmt == "xlsx":
        return xlsx_response(workbook(sheet, title, columns, rows), filename)
    return {**body, "rows": [json_row(columns, r) for r in rows]}


LOANS_COLUMNS = [
    Column("scope", "口径"),
    Column("students", "学生人数", "int"),
    Column("contracts", "合同笔数", "int"),
    Column("amount", "贷款金额（元）", "yuan"),
]
AGING_COLUMNS = [
    Column("bucket", "账龄"),
    Column("label", "账龄（天）"),
    Column("contracts", "逾期合同数", "int"),
    Column("principal", "逾期本金（元）", "yuan"),
    Column("interest", "逾期利息（元）", "yuan"),
]
SUBSIDY_COLUMNS = [
    Column("university_code", "高校代码"),
    Column("university", "高校"),
    Column("contracts", "合同笔数", "int"),
    Column("unsettled", "待结贴息（元）", "yuan"),
]


def default_columns(by: str) -> list[Column]:
    return [
        Column("group", default_rate.DIMENSIONS[by][0]),
        Column("label", "名称"),
        Column("principal_due", "到期本金（元）", "yuan"),
        Column("overdue_principal", "逾期本金（元）", "yuan"),
        Column("amount_rate", "金额违约率", "percent"),
        Column("borrowers", "进入还款期借款人数", "int"),
        Column("defaulting", "违约借款人数", "int"),
        Column("borrower_rate", "人数违约率", "percent"),
    ]


async def loans_answer(session: AsyncSession, year: int, format: Format) -> Any:
    r = await reports.loans_report(session, year)
    if format == "xlsx":
        rows = [
            {"scope": label, "students": t.students, "contracts": t.contracts, "amount": t.amount}
            for label, t in (
                (f"{year} 学年", r["year"]),
                ("其中建档立卡", r["registered_poor"]),
                (f"累计（至 {year} 学年）", r["cumulative"]),
            )
        ]
        return xlsx_response(
            workbook("贷款统计", f"{year} 学年生源地信用助学贷款统计", LOANS_COLUMNS, rows), f"贷款统计-{year}.xlsx"
        )

    def out(t: reports.Totals) -> dict[str, Any]:
        return {"students": t.students, "contracts": t.contracts, "amount": format_yuan(t.amount)}

    return {
        "year": year,
        **out(r["year"]),
        "registered_poor": out(r["registered_poor"]),
        "cumulative": out(r["cumulative"]),
    }


async def aging_answer(session: AsyncSession, day: date, format: Format) -> Any:
    rows = [
        dict(bucket=r.bucket, label=r.label, contracts=r.contracts, principal=r.principal, interest=r.interest)
        for r in await aging.aging(session, day)
    ]
    totals = {
        "contracts": sum(r["contracts"] for r in rows),
        "principal": format_yuan(sum(r["principal"] for r in rows)),
        "interest": format_yuan(sum(r["interest"] for r in rows)),
    }
    return _table(
        format,
        f"逾期账龄-{day}.xlsx",
        "逾期账龄",
        f"逾期账龄分析（截至 {day}）",
        AGING_COLUMNS,
        rows,
        {"as_of": day.isoformat(), "total": totals},
    )


async def default_rate_answer(session: AsyncSession, by: str, day: date, format: Format) -> Any:
    found = await default_rate.default_rates(session, by, day)

    def row(r: default_rate.DefaultRow) -> dict[str, Any]:
        return dict(
            group=r.group,
            label=r.label,
            principal_due=r.principal_due,
            overdue_principal=r.overdue_principal,
            amount_rate=r.amount_rate,
            borrowers=r.borrowers,
            defaulting=r.defaulting,
            borrower_rate=r.borrower_rate,
        )

    rows = [row(r) for r in found]
    total = row(default_rate.total(found))
    columns = default_columns(by)
    return _table(
        format,
        f"违约率-{by}-{day}.xlsx",
        "违约率",
        f"违约率（按{default_rate.DIMENSIONS[by][0]}，截至 {day}）",
        columns,
        [*rows, total] if format == "xlsx" else rows,
        {"as_of": day.isoformat(), "by": by, "total": json_row(columns, total)},
    )


async def subsidy_answer(session: AsyncSession, year: int, format: Format) -> Any:
    b = await subsidy.bill(session, year)
    rows = [
        dict(university_code=code, university=name, contracts=n, unsettled=x) for code, name, n, x in b.by_university
    ]
    return _table(
        format,
        f"财政贴息-{year}.xlsx",
        "财政贴息",
        f"{year} 年财政贴息结算单",
        SUBSIDY_COLUMNS,
        rows,
        {
            "year": year,
            "amount": format_yuan(b.unsettled),
            "billed": format_yuan(b.billed),
            "settled": format_yuan(b.settled),
            "contracts": b.contracts,
            "lines": b.lines,
            "unrecognised_lines": b.unrecognised,
        },
    )
