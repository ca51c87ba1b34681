"""The console's words in Chinese (the default) and English: one small catalogue, no gettext machinery.

A page asks for `t.key` (or `t("key", n=3)` with format fields); a key missing from the catalogue shows
as itself, so a forgotten entry is visible on the page instead of breaking it. The language is chosen by
`?lang=` (remembered in a cookie) and is Chinese otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request

from service.registry import vocabulary

LANG_COOKIE = "zizhu_lang"
LANGS = ("zh", "en")

# key: (中文, English)
MESSAGES: dict[str, tuple[str, str]] = {
    # the landing page and signing in
    "title": ("资助 Zizhu", "Zizhu (资助)"),
    "intro": (
        "县学生资助管理中心的业务系统，服务于在读大学生：",
        "The system of a county student financial aid centre, for university students:",
    ),
    "about_loans": (
        "生源地信用助学贷款：申请、合同、回执、放款、还款计划、贴息、还款与逾期、还款提醒。",
        "Origin-based credit student loans: applications, contracts, receipts, disbursement, "
        "schedules with the state's interest subsidy, repayments, overdue and reminders.",
    ),
    "about_donations": (
        "社会捐赠与政府资助：捐赠方与项目、申请、公示、发放、捐赠去向追踪与收据。",
        "Donations and government grants: donors, programmes, applications, public notice, "
        "payments, donor-to-recipient tracking and receipts.",
    ),
    "links": ("接口", "API"),
    "docs": ("接口文档（可在线试用）", "API documentation (try it in the browser)"),
    "problems": ("错误类型说明", "Problem types"),
    "signin": ("登录", "Sign in"),
    "signout": ("退出", "Sign out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "role": ("角色", "Role"),
    "demo_how": ("演示账号：", "Demo accounts:"),
    "demo_warning": (
        "注意：本数据库中存在演示账号，其密码已公开（见下表），任何人都可以用它们登录。"
        "正式使用前请停用这些账号，或用 --no-demo 在新的数据库上启动。",
        "Warning: this database has demo accounts whose passwords are published (below): anyone can sign in "
        "with them. Deactivate them, or start on a new database with --no-demo, before real work.",
    ),
    "demo_note": (
        "演示数据为虚构，仅供体验；正式使用请以 --no-demo 启动。",
        "The demo data is made up; start with --no-demo for real work.",
    ),
    "signed_in_as": ("当前用户", "Signed in as"),
    "open_console": ("进入工作台", "Open the console"),
    # navigation
    "dashboard": ("工作台", "Dashboard"),
    "students": ("学生", "Students"),
    "applications": ("贷款申请", "Applications"),
    "queue": ("审批队列", "Approval queue"),
    "contracts": ("贷款合同", "Contracts"),
    "import": ("Excel 导入", "Excel import"),
    "reports": ("报表与下载", "Reports"),
    "audit": ("审计日志", "Audit log"),
    "receipts_queue": ("回执待办", "Receipts (回执)"),
    "graduations": ("毕业确认", "Graduation confirmations"),
    "my_loans": ("我的贷款", "My loans"),
    # shared words
    "search": ("查询", "Search"),
    "save": ("保存", "Save"),
    "submit": ("提交", "Submit"),
    "back": ("返回", "Back"),
    "all": ("全部", "All"),
    "none": ("无", "None"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "total_n": ("共 {n} 条", "{n} in all"),
    "status": ("状态", "Status"),
    "amount": ("金额（元）", "Amount (yuan)"),
    "date": ("日期", "Date"),
    "name": ("姓名", "Name"),
    "id_number": ("身份证号", "ID number"),
    "phone": ("手机号", "Phone"),
    "address": ("地址", "Address"),
    "university": ("院校", "University"),
    "level": ("学历层次", "Level"),
    "categories": ("困难类别", "Hardship categories"),
    "academic_year": ("学年", "Academic year"),
    "student": ("学生", "Student"),
    "actions": ("操作", "Actions"),
    "reason": ("原因", "Reason"),
    "error": ("操作未完成", "Not done"),
    "done": ("已保存。", "Saved."),
    "forbidden_title": ("无权访问", "Not allowed"),
    "forbidden_text": ("当前用户的角色不能使用此页面或操作。", "Your role may not use this page or action."),
    "csrf_text": (
        "表单已过期或来源不明，请返回、刷新页面后重试。",
        "The form has expired or did not come from this site; go back, reload the page and try again.",
    ),
    "no_pages_for_role": ("该角色暂无可用的页面。", "There are no console pages for this role yet."),
    "not_found": ("页面不存在。", "There is no such page."),
    # dashboard
    "kpi_contracts": ("合同数（笔）", "Contracts"),
    "kpi_outstanding": ("未还本金（元）", "Outstanding principal"),
    "kpi_overdue_rate": ("逾期率（逾期本金 / 到期本金）", "Overdue rate (overdue / due principal)"),
    "kpi_overdue_contracts": ("逾期合同（笔）", "Overdue contracts"),
    "kpi_waiting": ("待审批申请", "Applications awaiting review"),
    "kpi_receipts": ("待高校回执", "Awaiting the university's receipt"),
    "chart_by_year": ("各学年合同金额（万元）", "Contract amount by academic year (10,000 yuan)"),
    "by_status": ("合同状态分布", "Contracts by status"),
    "nothing_due": ("尚无到期本金", "no principal due yet"),
    # students
    "register_student": ("登记学生", "Register a student"),
    "search_hint": ("姓名、县或完整身份证号", "name, county or full ID number"),
    "household_province": ("户籍省份", "Home province"),
    "household_county": ("户籍县", "Home county"),
    "study_years": ("学制（年）", "Years of study"),
    "enrolled_on": ("入学日期", "Enrolled on"),
    "expected_graduation": ("预计毕业日期", "Expected graduation"),
    "loans_of_student": ("贷款记录", "Loans"),
    "new_application": ("受理贷款申请", "Take a loan application"),
    "co_borrower": ("共同借款人", "Co-borrower"),
    "co_name": ("共同借款人姓名", "Co-borrower's name"),
    "co_id_number": ("共同借款人身份证号", "Co-borrower's ID number"),
    "co_phone": ("共同借款人手机号", "Co-borrower's phone"),
    "relationship": ("与学生关系", "Relationship"),
    # applications and contracts
    "application": ("贷款申请", "Application"),
    "limit": ("额度（元）", "Limit (yuan)"),
    "prepared_by": ("经办人", "Prepared by"),
    "decided_by": ("审批人", "Decided by"),
    "approve": ("审批通过", "Approve"),
    "reject": ("不予通过", "Reject"),
    "reject_reason": ("不通过原因", "Reason for rejection"),
    "sign_contract": ("签订合同", "Sign the contract"),
    "signed_on": ("签约日期", "Signed on"),
    "contract": ("合同", "Contract"),
    "contract_no": ("合同编号", "Contract no."),
    "principal": ("本金（元）", "Principal (yuan)"),
    "outstanding": ("未还本金（元）", "Outstanding (yuan)"),
    "rate": ("年利率（%）", "Rate (% a year)"),
    "term_years": ("期限（年）", "Term (years)"),
    "maturity_date": ("到期日", "Maturity"),
    "subsidy_end": ("贴息截止日", "Subsidy ends"),
    "receipt_amount": ("回执金额（元）", "Receipt (yuan)"),
    "disbursed_on": ("放款日期", "Disbursed on"),
    "check_code": ("校验码", "Check code"),
    "certificate": ("打印受理证明（PDF）", "Print the 受理证明 (PDF)"),
    "payouts": ("放款去向", "Payouts"),
    "payee": ("收款方", "Payee"),
    "schedule": ("还款计划", "Repayment schedule"),
    "due_on": ("应还日", "Due on"),
    "payer": ("付息方", "Payer"),
    "interest": ("利息（元）", "Interest (yuan)"),
    "paid": ("已还（元）", "Paid (yuan)"),
    "ledger": ("分户账", "Ledger"),
    "kind": ("类型", "Kind"),
    "account": ("科目", "Account"),
    "debit": ("借方", "Debit"),
    "credit": ("贷方", "Credit"),
    "reference": ("银行流水号", "Bank reference"),
    "repayments": ("还款记录", "Repayments"),
    "record_repayment": ("登记还款", "Record a repayment"),
    "paid_on": ("还款日期", "Paid on"),
    "enter_receipt": ("录入回执", "Enter the receipt"),
    "disburse": ("放款", "Disburse"),
    "no_schedule": ("放款后生成还款计划。", "The schedule is made at disbursement."),
    "repayment_done": (
        "还款已入账：罚息 {penalty}，利息 {interest}，本金 {principal}，暂收 {credit}。",
        "Repayment posted: penalty {penalty}, interest {interest}, principal {principal}, credit {credit}.",
    ),
    "contract_search_hint": ("合同编号或学生姓名", "contract no. or student name"),
    # import, reports, audit
    "import_file": ("合同 Excel 文件（.xlsx）", "Contract workbook (.xlsx)"),
    "download_template": ("下载导入模板", "Download the import template"),
    "valid_only": ("只导入正确的行", "Import the valid rows only"),
    "dry_run": ("只检查，不导入", "Check only"),
    "annotated": ("返回标注错误的工作簿", "Return the workbook with errors marked"),
    "import_result": ("导入结果", "Import result"),
    "rows": ("行数", "Rows"),
    "valid": ("正确", "Valid"),
    "invalid": ("有误", "Invalid"),
    "imported": ("已导入", "Imported"),
    "row": ("行", "Row"),
    "column": ("列", "Column"),
    "message": ("说明", "Message"),
    "import_stopped": ("有错误的行，整份文件未导入。", "Invalid rows stopped the import; nothing was written."),
    "import_job": ("后台导入", "Background import"),
    "job_running": (
        "文件较大，正在后台导入，本页每 2 秒自动刷新。",
        "A large file: importing in the background; this page refreshes itself every 2 seconds.",
    ),
    "job_failed": ("导入失败，未导入任何数据。", "The import failed; nothing was imported."),
    "job_stale": (
        "该任务已长时间没有进展，可能服务曾重启，请重新上传。",
        "No progress for a long time (the service may have restarted); upload the file again.",
    ),
    "phase_reading": ("读取", "Reading"),
    "phase_checking": ("检查", "Checking"),
    "phase_writing": ("写入", "Writing"),
    "loans_report": ("贷款统计", "Loans report"),
    "year": ("年度", "Year"),
    "of_which_poor": ("其中建档立卡", "of which registered poor"),
    "cumulative": ("累计", "Cumulative"),
    "students_n": ("学生（人）", "Students"),
    "contracts_n": ("合同（笔）", "Contracts"),
    "downloads": ("下载", "Downloads"),
    "export_contracts": ("全部合同（Excel，证件号已遮蔽）", "All contracts (Excel, identifiers masked)"),
    "export_year": ("本学年合同（Excel）", "This academic year's contracts (Excel)"),
    "at": ("时间", "When"),
    "actor": ("操作人", "Who"),
    "action": ("动作", "Action"),
    "entity": ("对象", "What"),
    "before_after": ("变更前 → 变更后", "Before → after"),
    # school and graduates
    "receipts_intro": (
        "本校学生已签合同、待录入回执（学费与住宿费）。",
        "Signed contracts of your students awaiting the receipt (tuition and accommodation).",
    ),
    "employer": ("工作单位", "Employer"),
    "submitted_at": ("提交时间", "Submitted"),
    "review_note": ("审核意见", "Review note"),
    "next_due": ("下次应还", "Next payment"),
    "how_to_pay": ("如何还款", "How to pay"),
    "update_contact": ("更新联系方式", "Update phone and address"),
    "contact_saved": ("联系方式已更新。", "Your phone and address are updated."),
    "graduation_confirm": ("提交毕业确认", "Confirm graduation"),
    "graduation_sent": ("毕业确认已提交，等待学校审核。", "Sent; your university will review it."),
    "how_to_pay_text": (
        "还款前将应还金额存入您在国家开发银行助学贷款系统登记的支付宝账户，到期日自动扣款；"
        "也可在县学生资助管理中心柜台办理。",
        "Before a due date, put the amount due in the Alipay account registered with the CDB "
        "student-loan system (it is debited on the due date), or pay at the county centre.",
    ),
    "no_contracts": ("暂无合同。", "No contracts yet."),
    # roles (a "graduate" user is a borrowing student; "graduate" as a level is 研究生)
    "role_admin": ("管理员", "administrator"),
    "role_officer": ("经办人", "officer"),
    "role_reviewer": ("复核人", "reviewer"),
    "role_school": ("高校资助中心", "university aid office"),
    "role_graduate": ("借款学生", "borrower"),
    "role_donor": ("捐赠方", "donor"),
    "role_auditor": ("审计", "auditor"),
}

ENUM_LABELS_EN: dict[str, str] = {**vocabulary.labels("en"), "government": "government", "borrower": "borrower"}
ENUM_LABELS_ZH: dict[str, str] = {
    **vocabulary.labels("zh"),
    "government": "财政贴息",
    "borrower": "借款人",
    "pending": "未到期",
    "due": "到期",
    "paid": "已还",
    "overdue": "逾期",
    "disbursement": "放款",
    "interest": "利息",
    "subsidy": "贴息",
    "penalty": "罚息",
    "repayment": "还款",
    "reversal": "冲正",
    "principal": "本金",
    "interest_borrower": "借款人利息",
    "interest_government": "贴息利息",
    "cash": "资金",
    "suspense": "暂收款",
    "interest_income": "利息收入",
    "university": "高校（学费住宿费）",
    "student": "学生",
}


def add_words(messages: Mapping[str, tuple[str, str]], labels_zh: Mapping[str, str]) -> None:
    """A domain's words joining the catalogue (its ConsoleSection's, when the console is composed)."""
    MESSAGES.update(messages)
    ENUM_LABELS_ZH.update(labels_zh)


def choose_language(request: Request[Any, Any, Any]) -> str:
    """`?lang=` first, then the remembered choice, else Chinese."""
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return wanted if wanted in LANGS else "zh"


class Texts:
    """The catalogue in one language, as templates use it: `t.key`, `t("key", n=1)`, `t.label(value)`."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._index = 1 if lang == "en" else 0

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        found = MESSAGES.get(key)
        return found[self._index] if found else key

    def __call__(self, key: str, **fields: Any) -> str:
        return getattr(self, key).format(**fields)

    def label(self, value: str | None) -> str:
        """A stored code (status, level, category, payer, ledger kind…) in words."""
        if value is None:
            return ""
        if self.lang == "en":
            return ENUM_LABELS_EN.get(value, value.replace("_", " "))
        return ENUM_LABELS_ZH.get(value, value)

    def problem(self, exc: Any) -> str:
        """A Problem's detail in this language."""
        return exc.detail_en if self.lang == "en" else exc.detail_zh


TEXTS = {lang: Texts(lang) for lang in LANGS}
