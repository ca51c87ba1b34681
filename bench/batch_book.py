"""The million-contract book that bench/batch.py runs the nightly batch over: the pure schedule generator's rate,
and a portfolio built in a fresh schema (schedules from the real generator, fanned out by PostgreSQL). See
bench/batch.py for what is measured."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

YEARS = list(range(2020, 2027))  # signing years (LPR-based rates, the 2020 term rules)
AMOUNTS = [600_000, 800_000, 1_000_000, 1_200_000, 1_500_000, 1_600_000, 2_000_000, 2_500_000]
DAYS = [15, 18, 25]  # disbursement days in November
DEFAULT_PCT, CREDIT_PCT = 3, 1


def shapes(rows: list[Any]) -> list[tuple[int, int, int, int, int, date, Any]]:
    """Every contract shape: (shape id, year, study years left, amount, day, disbursed_on, contract terms)."""
    from loans.policy import contract_terms

    out = []
    for yi, year in enumerate(YEARS):
        for left in range(1, 5):
            terms = contract_terms(rows, date(year, 9, 10), year + left)
            for ai, amount in enumerate(AMOUNTS):
                for di, day in enumerate(DAYS):
                    shape = ((yi * 4 + left - 1) * len(AMOUNTS) + ai) * len(DAYS) + di
                    out.append((shape, year, left, min(amount, _limit(year)), day, date(year, 11, day), terms))
    return out


def _limit(year: int) -> int:
    return 800_000 if year < 2021 else 1_200_000 if year < 2023 else 1_600_000 if year < 2024 else 2_500_000


def transient_loan(amount: int, disbursed_on: date, terms: Any) -> Any:
    from loans.models import Loan

    return Loan(
        amount=amount,
        disbursed_on=disbursed_on,
        maturity_date=terms.maturity_date,
        subsidy_end=terms.subsidy_end,
        signed_on=date(disbursed_on.year, 9, 10),
        rate=terms.rate,
        graduation_year=terms.subsidy_end.year,
        grace_years=terms.grace_years,
    )


def generator_rate(rows: list[Any], count: int = 20_000) -> float:
    """Schedules per second of the pure generator on one core (process time), over varied contracts."""
    from loans.servicing.booking import schedule_terms
    from loans.servicing.schedule import generate

    all_shapes = shapes(rows)
    terms = [schedule_terms(transient_loan(a, d, t), rows) for _, _, _, a, _, d, t in all_shapes]
    # vary the principal so no two schedules are alike (the generator memoises nothing across calls)
    jobs = [(terms[i % len(terms)], 100_000 + (i * 7919) % 2_400_000) for i in range(count)]
    from dataclasses import replace

    prepared = [replace(t, principal=p) for t, p in jobs]
    start = time.process_time()
    for t in prepared:
        generate(t)
    return count / (time.process_time() - start)


async def build(engine: Any, n: int, as_of: date, rows: list[Any]) -> dict[str, float]:
    from sqlalchemy import text

    from loans.batch.close_of_business import LAST_RUN_KEY
    from loans.servicing.booking import schedule_terms
    from loans.servicing.schedule import generate

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    tmpl_shapes, tmpl_lines = [], []
    yesterday = as_of - timedelta(days=1)
    for shape, year, _left, amount, _day, disbursed, terms in shapes(rows):
        lines = generate(schedule_terms(transient_loan(amount, disbursed, terms), rows))
        owing = any(l.payer == "borrower" and l.due_on < yesterday for l in lines)  # a defaulter is overdue
        started = any(l.principal > 0 and l.due_on <= yesterday for l in lines)  # principal repayment began
        tmpl_shapes.append(
            (
                shape,
                year,
                amount,
                disbursed,
                terms.rate,
                terms.lpr,
                terms.spread_bp,
                terms.term_years,
                terms.maturity_date,
                terms.grace_years,
                terms.subsidy_end,
                terms.subsidy_end.year,
                owing,
                started,
            )
        )
        tmpl_lines.extend((shape, l.due_on, l.payer, l.principal, l.interest, l.days) for l in lines)
    times["templates"] = time.perf_counter() - t0
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection  # asyncpg, for COPY
        await conn.execute(text("SET session_replication_role = replica"))  # no FK triggers during the load
        await conn.execute(text("SET LOCAL synchronous_commit = off"))
        await conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        await conn.execute(text("SET LOCAL work_mem = '256MB'"))
        # plain indexes are built after the load, not row by row
        indexdefs = list(
            (
                await conn.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN "
                        "('loan_schedule_lines', 'ledger_entries', 'ledger_lines') AND NOT EXISTS "
                        "(SELECT 1 FROM pg_constraint c WHERE c.conname = indexname)"
                    )
                )
            ).all()
        )
        for name, _ in indexdefs:
            await conn.execute(text(f'DROP INDEX "{name}"'))
        await conn.execute(text("ALTER TABLE loan_schedule_lines DROP CONSTRAINT uq_loan_schedule_lines_due"))
        await conn.execute(
            text(
                "CREATE TEMP TABLE b_shapes (shape int, year int, amount bigint, disbursed_on date, "
                "rate numeric, lpr numeric, spread_bp int, term_years int, maturity date, grace int, "
                "subsidy_end date, grad_year int, owing bool, started bool) ON COMMIT DROP"
            )
        )
        await conn.execute(
            text(
                "CREATE TEMP TABLE b_lines (shape int, due_on date, payer text, principal bigint, "
                "interest bigint, days int) ON COMMIT DROP"
            )
        )
        await raw.copy_records_to_table("b_shapes", records=tmpl_shapes)
        await raw.copy_records_to_table("b_lines", records=tmpl_lines)
        t = time.perf_counter()
        students = (n + 2) // 3
        await conn.execute(
            text(
                "INSERT INTO universities (code, name, province, created_at) SELECT 'U' || g, "
                "'大学' || g, '内蒙古', now() FROM generate_series(1, 30) g"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO students (id, name, id_number, phone, household_province, household_county, categories, "
                "university_code, level, study_years, enrolled_on, expected_graduation, version, created_at, updated_at) "
                "SELECT g, '学生' || g, lpad(g::text, 18, '0'), '13800000000', '内蒙古', '县' || (g % 12), '[]', "
                "'U' || (1 + g % 30), 'undergraduate', 4, date '2015-09-01', date '2019-06-30', 1, now(), now() "
                "FROM generate_series(1, :s) g"
            ),
            {"s": students},
        )
        await conn.execute(
            text(
                "INSERT INTO co_borrowers (id, name, id_number, phone, created_at, updated_at) SELECT g, '家长' || g, "
                "lpad(g::text, 17, '0') || 'X', '13900000000', now(), now() FROM generate_series(1, :s) g"
            ),
            {"s": students},
        )
        # contract g: student (g+2)/3, k = its (g-1)%3-th year; shape chosen from the id
        await conn.execute(
            text(
                "CREATE TEMP TABLE b_loans ON COMMIT DROP AS SELECT g AS id, (g + 2) / 3 AS student_id, "
                "(((((((g + 2) / 3) % 5 + (g - 1) % 3) * 4 + (g * 7) % 4) * :na + (g * 13) % :na) * :nd) + (g * 17) % :nd) "
                "AS shape, abs(hashint4(g::int)) % 100 < :dflt AS defaulter, g % 100 = 50 AS holder "
                "FROM generate_series(1, :n) g"
            ),
            {"n": n, "na": len(AMOUNTS), "nd": len(DAYS), "dflt": DEFAULT_PCT},
        )
        await conn.execute(text("CREATE INDEX ON b_lines (shape)"))
        await conn.execute(text("ANALYZE b_loans"))
        await conn.execute(text("ANALYZE b_lines"))
        await conn.execute(
            text(
                "INSERT INTO loans (id, student_id, academic_year, amount, co_borrower_id, co_borrower_relationship, status, "
                "prepared_by, limit_policy_ids, contract_no, signed_on, rate, lpr, spread_bp, term_years, maturity_date, "
                "grace_years, subsidy_end, graduation_year, contract_policy_ids, disbursed_on, imported, version, "
                "created_at, updated_at) "
                "SELECT b.id, b.student_id, s.year, s.amount, b.student_id, 'father', "
                "CASE WHEN s.subsidy_end >= :d THEN 'in_school' WHEN b.defaulter AND s.owing THEN 'overdue' "
                "  WHEN s.started THEN 'repaying' ELSE 'grace' END, "
                "1, '[]', 'B' || b.id, make_date(s.year, 9, 10), s.rate, s.lpr, s.spread_bp, s.term_years, s.maturity, "
                "s.grace, s.subsidy_end, s.grad_year, '[]', s.disbursed_on, false, 1, now(), now() "
                "FROM b_loans b JOIN b_shapes s ON s.shape = b.shape"
            ),
            {"d": as_of - timedelta(days=1)},
        )
        times["contracts"] = time.perf_counter() - t
        t = time.perf_counter()
        # past lines are paid (the state's by the subsidy bill), except a defaulter's borrower lines
        await conn.execute(
            text(
                "INSERT INTO loan_schedule_lines (loan_id, due_on, payer, principal, interest, days, paid_principal, "
                "paid_interest, status, interest_posted, penalty_to) "
                "SELECT b.id, t.due_on, t.payer, t.principal, t.interest, t.days, "
                "CASE WHEN t.due_on < :d AND NOT (b.defaulter AND t.payer = 'borrower') THEN t.principal ELSE 0 END, "
                "CASE WHEN t.due_on < :d AND NOT (b.defaulter AND t.payer = 'borrower') THEN t.interest ELSE 0 END, "
                "CASE WHEN t.due_on >= :d THEN 'pending' WHEN b.defaulter AND t.payer = 'borrower' THEN 'overdue' "
                "     ELSE 'paid' END, t.due_on < :d, "
                "CASE WHEN t.due_on < :d AND b.defaulter AND t.payer = 'borrower' THEN CAST(:prev AS date) END "
                "FROM b_loans b JOIN b_lines t ON t.shape = b.shape"
            ),
            {"d": as_of, "prev": as_of - timedelta(days=1)},
        )
        times["schedule lines"] = time.perf_counter() - t
        t = time.perf_counter()
        await conn.execute(
            text(
                "INSERT INTO ledger_entries (id, loan_id, kind, posted_on, actor, note, created_at) "
                "SELECT id, id, 'disbursement', disbursed_on, 'bench', NULL, now() FROM loans"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_entries (id, loan_id, kind, posted_on, actor, reference, created_at) "
                "SELECT :n + b.id, b.id, 'repayment', date '2026-06-01', 'bench', 'BENCH-' || b.id, now() "
                "FROM b_loans b WHERE b.holder"
            ),
            {"n": n},
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_lines (entry_id, loan_id, account, debit, credit) "
                "SELECT e.id, e.loan_id, a.account, CASE WHEN a.debit THEN l.amount ELSE 0 END, "
                "CASE WHEN a.debit THEN 0 ELSE l.amount END FROM ledger_entries e JOIN loans l ON l.id = e.loan_id "
                "CROSS JOIN (VALUES ('principal', true), ('cash', false)) a(account, debit) WHERE e.kind = 'disbursement'"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_lines (entry_id, loan_id, account, debit, credit) "
                "SELECT e.id, e.loan_id, a.account, CASE WHEN a.debit THEN 100000 ELSE 0 END, "
                "CASE WHEN a.debit THEN 0 ELSE 100000 END FROM ledger_entries e "
                "CROSS JOIN (VALUES ('cash', true), ('suspense', false)) a(account, debit) WHERE e.kind = 'repayment'"
            )
        )
        for table in ("loans", "ledger_entries", "students", "co_borrowers"):
            await conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
        times["ledger"] = time.perf_counter() - t
        t = time.perf_counter()
        await conn.execute(text("SET session_replication_role = origin"))
        await conn.execute(
            text(
                "ALTER TABLE loan_schedule_lines ADD CONSTRAINT uq_loan_schedule_lines_due "
                "UNIQUE (loan_id, due_on, payer)"
            )
        )
        for _, indexdef in indexdefs:
            await conn.execute(text(indexdef))
        times["indexes"] = time.perf_counter() - t
        await conn.execute(
            text("INSERT INTO service_meta (key, value, updated_at) VALUES (:k, :v, now())"),
            {"k": LAST_RUN_KEY, "v": (as_of - timedelta(days=1)).isoformat()},
        )
    t = time.perf_counter()
    await vacuum(engine)
    times["vacuum analyze"] = time.perf_counter() - t
    return times


async def vacuum(engine: Any) -> None:
    from sqlalchemy import text

    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("loan_schedule_lines", "ledger_entries", "ledger_lines", "loans", "students", "co_borrowers"):
            await conn.execute(text(f"VACUUM ANALYZE {table}"))
