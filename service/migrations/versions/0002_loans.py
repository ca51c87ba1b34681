"""loans: policy rows (seeded with the values of DOMAIN.md), loans, payouts, contract counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

# Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


# The values and sources of ../shared/DOMAIN.md, frozen here as of this migration: later notices are
# new rows added by an admin (or a later migration), never edits of these.
SEED: list[tuple[str, str, str, str, str]] = [
    # kind, key, effective_from, value, source
    ("limit_max", "junior_college", "2000-01-01", "6000", "国家开发银行生源地信用助学贷款指导"),
    ("limit_max", "undergraduate", "2000-01-01", "6000", "国家开发银行生源地信用助学贷款指导"),
    ("limit_max", "graduate", "2000-01-01", "6000", "国家开发银行生源地信用助学贷款指导"),
    ("limit_max", "junior_college", "2014-09-01", "8000", "教育部 财政部 2014 年通知（大学生每年1000-8000元）"),
    ("limit_max", "undergraduate", "2014-09-01", "8000", "教育部 财政部 2014 年通知（大学生每年1000-8000元）"),
    ("limit_max", "graduate", "2014-09-01", "12000", "教育部 财政部 2014 年通知（研究生每年1000-12000元）"),
    ("limit_max", "junior_college", "2021-09-01", "12000", "国务院政策例行吹风会 2021-09-15"),
    ("limit_max", "undergraduate", "2021-09-01", "12000", "国务院政策例行吹风会 2021-09-15"),
    ("limit_max", "graduate", "2021-09-01", "16000", "国务院政策例行吹风会 2021-09-15"),
    ("limit_max", "junior_college", "2023-09-01", "16000", "教育部 财政部 人民银行 金融监管总局 2023 年通知"),
    ("limit_max", "undergraduate", "2023-09-01", "16000", "教育部 财政部 人民银行 金融监管总局 2023 年通知"),
    ("limit_max", "graduate", "2023-09-01", "20000", "教育部 财政部 人民银行 金融监管总局 2023 年通知"),
    ("limit_max", "junior_college", "2024-09-01", "20000", "教育部 2024-11-04 通知（t20241104_1160686）"),
    ("limit_max", "undergraduate", "2024-09-01", "20000", "教育部 2024-11-04 通知（t20241104_1160686）"),
    ("limit_max", "graduate", "2024-09-01", "25000", "教育部 2024-11-04 通知（t20241104_1160686）"),
    ("limit_min", "", "2000-01-01", "1000", "教育部 财政部 2014 年通知（每年不低于1000元）"),
    ("lpr_5y", "", "2019-08-20", "4.85", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2019-11-20", "4.80", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2020-02-20", "4.75", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2020-04-20", "4.65", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2022-01-20", "4.60", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2022-05-20", "4.45", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2022-08-22", "4.30", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2023-06-20", "4.20", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2024-02-20", "3.95", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2024-07-22", "3.85", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2024-10-21", "3.60", "全国银行间同业拆借中心 LPR 公告"),
    ("lpr_5y", "", "2025-05-20", "3.50", "全国银行间同业拆借中心 LPR 公告"),
    ("spread_bp", "", "2020-01-01", "-30", "2020 年起新签合同：同期限 LPR 减 30 个基点"),
    ("spread_bp", "", "2023-09-01", "-60", "2023 年秋季学期起：LPR 减 60 个基点"),
    ("spread_bp", "", "2024-11-04", "-70", "教育部 2024-11-04 通知：LPR 减 70 个基点"),
    ("term_extra_years", "", "2015-01-01", "13", "2015 年起：剩余学制 + 13 年，最长 20 年"),
    ("term_max_years", "", "2015-01-01", "20", "2015 年起：剩余学制 + 13 年，最长 20 年"),
    ("term_extra_years", "", "2020-01-01", "15", "2020 年起：剩余学制 + 15 年，最长 22 年"),
    ("term_max_years", "", "2020-01-01", "22", "2020 年起：剩余学制 + 15 年，最长 22 年"),
    ("grace_years", "", "2015-01-01", "3", "2015–2019 年合同：本金宽限期 3 年"),
    ("grace_years", "", "2020-01-01", "5", "2020 年起合同：本金宽限期 5 年"),
    ("subsidy_end", "", "2000-01-01", "08-31", "毕业当年 8 月 31 日贴息截止"),
    ("penalty_factor", "", "2000-01-01", "1.3", "逾期罚息为合同利率的 130%"),
    ("penalty_on_interest", "", "2000-01-01", "false", "Zizhu 默认：逾期利息不计罚息（可调整）"),
    ("day_count", "", "2000-01-01", "ACT/365", "Zizhu 默认：实际天数/365（公开计算器所用）"),
    ("repricing_date", "", "2000-01-01", "01-01", "Zizhu 默认：每年 1 月 1 日重定价（官方未公布）"),
    ("prepayment_min", "", "2000-01-01", "500", "Zizhu 默认：部分提前还款不少于 500 元（待核实）"),
]


def upgrade() -> None:
    op.create_table(
        "loan_contract_counters",
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("county", "year", name=op.f("pk_loan_contract_counters")),
    )
    op.create_table(
        "loan_policy",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_policy")),
        sa.UniqueConstraint("kind", "key", "effective_from", name="uq_loan_policy_kind_key_from"),
    )
    op.create_table(
        "loans",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("student_id", ID, nullable=False),
        sa.Column("academic_year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("co_borrower_id", ID, nullable=False),
        sa.Column("co_borrower_relationship", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("prepared_by", ID, nullable=False),
        sa.Column("decided_by", ID, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("limit_policy_ids", sa.JSON(), nullable=False),
        sa.Column("contract_no", sa.String(length=32), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("lpr", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("spread_bp", sa.Integer(), nullable=True),
        sa.Column("term_years", sa.Integer(), nullable=True),
        sa.Column("maturity_date", sa.Date(), nullable=True),
        sa.Column("grace_years", sa.Integer(), nullable=True),
        sa.Column("subsidy_end", sa.Date(), nullable=True),
        sa.Column("graduation_year", sa.Integer(), nullable=True),
        sa.Column("contract_policy_ids", sa.JSON(), nullable=False),
        sa.Column("check_code", sa.String(length=16), nullable=True),
        sa.Column("receipt_amount", sa.BigInteger(), nullable=True),
        sa.Column("receipt_by", ID, nullable=True),
        sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("imported", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["co_borrower_id"], ["co_borrowers.id"], name=op.f("fk_loans_co_borrower_id_co_borrowers")
        ),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_loans_student_id_students")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
        sa.UniqueConstraint("check_code", name=op.f("uq_loans_check_code")),
        sa.UniqueConstraint("contract_no", name=op.f("uq_loans_contract_no")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loans_co_borrower_id"), ["co_borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_student_id"), ["student_id"], unique=False)
        batch_op.create_index(
            "uq_loans_student_year_live",
            ["student_id", "academic_year"],
            unique=True,
            sqlite_where=sa.text("status NOT IN ('rejected', 'withdrawn')"),
            postgresql_where=sa.text("status NOT IN ('rejected', 'withdrawn')"),
        )

    op.create_table(
        "loan_payouts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("payee", sa.String(length=20), nullable=False),
        sa.Column("payee_ref", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_payouts_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_payouts")),
    )
    with op.batch_alter_table("loan_payouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_payouts_loan_id"), ["loan_id"], unique=False)

    policy = sa.table(
        "loan_policy",
        sa.column("kind", sa.String),
        sa.column("key", sa.String),
        sa.column("effective_from", sa.Date),
        sa.column("value", sa.String),
        sa.column("source", sa.String),
        sa.column("created_by", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        policy,
        [
            {
                "kind": k,
                "key": key,
                "effective_from": date.fromisoformat(d),
                "value": v,
                "source": src,
                "created_by": "migration 0002",
                "created_at": now,
            }
            for k, key, d, v, src in SEED
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("loan_payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_payouts_loan_id"))

    op.drop_table("loan_payouts")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_loans_student_year_live",
            sqlite_where=sa.text("status NOT IN ('rejected', 'withdrawn')"),
            postgresql_where=sa.text("status NOT IN ('rejected', 'withdrawn')"),
        )
        batch_op.drop_index(batch_op.f("ix_loans_student_id"))
        batch_op.drop_index(batch_op.f("ix_loans_status"))
        batch_op.drop_index(batch_op.f("ix_loans_co_borrower_id"))

    op.drop_table("loans")
    op.drop_table("loan_policy")
    op.drop_table("loan_contract_counters")
