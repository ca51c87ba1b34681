"""The bare floor of bench/batch.py: the SQL statements a person would write by hand to make the same
changes as one day of close of business (loans.batch), on PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any


def bare_statements(day: date, factor_p: int, factor_q: int) -> list[tuple[str, dict[str, Any]]]:
    """The same changes as close_of_business for one day, as a person would write them by hand."""
    den = 100 * 10**4 * 365 * factor_q
    due = {"d": day}
    stmts: list[tuple[str, dict[str, Any]]] = [
        # interest recognised: one entry per line due, its two lines, the line marked
        (
            "INSERT INTO ledger_entries (loan_id, kind, posted_on, actor, schedule_line_id, created_at) "
            "SELECT loan_id, CASE WHEN payer = 'borrower' THEN 'interest' ELSE 'subsidy' END, due_on, 'bare', id, now() "
            "FROM loan_schedule_lines WHERE due_on <= :d AND interest_posted = false AND interest > 0",
            due,
        ),
        (
            "INSERT INTO ledger_lines (entry_id, loan_id, account, debit, credit) "
            "SELECT e.id, e.loan_id, CASE WHEN a.side = 0 THEN (CASE WHEN s.payer = 'borrower' THEN 'interest_borrower' "
            "ELSE 'interest_government' END) ELSE 'interest_income' END, CASE WHEN a.side = 0 THEN s.interest ELSE 0 END, "
            "CASE WHEN a.side = 1 THEN s.interest ELSE 0 END FROM loan_schedule_lines s "
            "JOIN ledger_entries e ON e.schedule_line_id = s.id CROSS JOIN (VALUES (0), (1)) a(side) "
            "WHERE s.due_on <= :d AND s.interest_posted = false AND s.interest > 0",
            due,
        ),
        ("UPDATE loan_schedule_lines SET interest_posted = true WHERE due_on <= :d AND interest_posted = false", due),
        # held credit: the holders' lines due today paid from suspense (credit covers them in this portfolio)
        (
            "CREATE TEMP TABLE bare_credit ON COMMIT DROP AS SELECT s.loan_id, sum(s.interest - s.paid_interest "
            "+ s.principal - s.paid_principal) AS amount FROM loan_schedule_lines s JOIN (SELECT loan_id FROM ledger_lines "
            "WHERE account = 'suspense' GROUP BY loan_id HAVING sum(credit - debit) > 0) h ON h.loan_id = s.loan_id "
            "WHERE s.payer = 'borrower' AND s.due_on <= :d AND s.status <> 'paid' GROUP BY s.loan_id",
            due,
        ),
        (
            "UPDATE loan_schedule_lines s SET paid_interest = s.interest, paid_principal = s.principal, status = 'paid' "
            "FROM bare_credit c WHERE s.loan_id = c.loan_id AND s.payer = 'borrower' AND s.due_on <= :d "
            "AND s.status <> 'paid'",
            due,
        ),
        (
            "INSERT INTO ledger_entries (loan_id, kind, posted_on, actor, created_at) SELECT loan_id, 'credit_applied', "
            ":d, 'bare', now() FROM bare_credit WHERE amount > 0",
            due,
        ),
        (
            "INSERT INTO ledger_lines (entry_id, loan_id, account, debit, credit) SELECT e.id, e.loan_id, a.account, "
            "CASE WHEN a.account = 'suspense' THEN c.amount ELSE 0 END, CASE WHEN a.account = 'suspense' THEN 0 "
            "ELSE c.amount END FROM ledger_entries e JOIN bare_credit c ON c.loan_id = e.loan_id "
            "CROSS JOIN (VALUES ('suspense'), ('interest_borrower')) a(account) "
            "WHERE e.kind = 'credit_applied' AND e.posted_on = :d",
            due,
        ),
        # lines due and overdue
        (
            "UPDATE loan_schedule_lines SET status = 'overdue' WHERE payer = 'borrower' AND due_on < :d "
            "AND status IN ('pending', 'due')",
            due,
        ),
        (
            "UPDATE loan_schedule_lines SET status = 'due' WHERE payer = 'borrower' AND due_on = :d "
            "AND status = 'pending'",
            due,
        ),
        # penalty on overdue principal, rounded once per contract
        (
            "CREATE TEMP TABLE bare_penalty ON COMMIT DROP AS SELECT s.loan_id, (2 * sum((s.principal - s.paid_principal) "
            f"* (CAST(:d AS date) - coalesce(s.penalty_to, s.due_on)))::bigint * round(l.rate * 10000)::bigint * {factor_p} + {den}) "
            f"/ {2 * den} AS amount FROM loan_schedule_lines s JOIN loans l ON l.id = s.loan_id "
            "WHERE s.payer = 'borrower' AND s.status = 'overdue' AND s.paid_principal < s.principal "
            "AND coalesce(s.penalty_to, s.due_on) < :d GROUP BY s.loan_id, l.rate",
            due,
        ),
        (
            "INSERT INTO ledger_entries (loan_id, kind, posted_on, actor, note, created_at) SELECT loan_id, 'penalty', "
            ":d, 'bare', 'bare penalty', now() FROM bare_penalty WHERE amount > 0",
            due,
        ),
        (
            "INSERT INTO ledger_lines (entry_id, loan_id, account, debit, credit) SELECT e.id, e.loan_id, a.account, "
            "CASE WHEN a.account = 'penalty' THEN p.amount ELSE 0 END, CASE WHEN a.account = 'penalty' THEN 0 "
            "ELSE p.amount END FROM ledger_entries e JOIN bare_penalty p ON p.loan_id = e.loan_id "
            "CROSS JOIN (VALUES ('penalty'), ('penalty_income')) a(account) WHERE e.note = 'bare penalty' "
            "AND e.posted_on = :d",
            due,
        ),
        (
            "UPDATE loan_schedule_lines SET penalty_to = :d WHERE payer = 'borrower' AND status = 'overdue' "
            "AND paid_principal < principal AND coalesce(penalty_to, due_on) < :d",
            due,
        ),
    ]
    if day.day == 20 and day.month != 11:
        stmts.append(
            (
                "INSERT INTO loan_collection_attempts (loan_id, collect_on, overdue_principal, overdue_interest, "
                "oldest_due_on) SELECT loan_id, :d, sum(principal - paid_principal), sum(interest - paid_interest), "
                "min(due_on) FROM loan_schedule_lines WHERE payer = 'borrower' AND status = 'overdue' AND due_on < :d "
                "GROUP BY loan_id",
                due,
            )
        )
    stmts += [
        ("UPDATE loans SET status = 'grace' WHERE status = 'in_school' AND subsidy_end < :d", due),
        (
            "UPDATE loans l SET status = 'repaying' WHERE status = 'grace' AND EXISTS (SELECT 1 FROM "
            "loan_schedule_lines s WHERE s.loan_id = l.id AND s.principal > 0 AND s.due_on <= :d)",
            due,
        ),
        (
            "UPDATE loans SET status = 'overdue' WHERE status IN ('grace', 'repaying') AND id IN "
            "(SELECT loan_id FROM loan_schedule_lines WHERE status = 'overdue')",
            due,
        ),
        (
            "UPDATE loans SET status = 'repaying' WHERE status = 'overdue' AND id NOT IN "
            "(SELECT loan_id FROM loan_schedule_lines WHERE status = 'overdue')",
            due,
        ),
    ]
    return stmts
