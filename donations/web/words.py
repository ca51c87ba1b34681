"""The console's words for donations, grants, reminders and the donor portal (merged into i18n.MESSAGES)."""

from __future__ import annotations

# key: (中文, English)
GRANT_MESSAGES: dict[str, tuple[str, str]] = {
    # navigation
    "programs": ("资助项目", "Programmes"), "grant_queue": ("资助审核", "Grant review queue"),
    "donations": ("捐赠", "Donations"), "grant_awards": ("资助发放", "Awards and payments"),
    "receipts": ("捐赠收据", "Receipts"), "my_donations": ("我的捐赠", "My donations"),
    # programmes
    "new_program": ("新建项目", "New programme"), "program": ("项目", "Programme"),
    "funding_kind": ("资金来源", "Funding"), "rule": ("资助标准", "Rule"), "rule_type": ("标准类型", "Rule type"),
    "rule_amount": ("固定金额（元）", "Fixed amount (yuan)"),
    "rule_undergraduate": ("本科（元）", "Undergraduate (yuan)"),
    "rule_junior_college": ("专科（元）", "Junior college (yuan)"), "rule_graduate": ("研究生（元）", "Graduate (yuan)"),
    "rule_in_province": ("区内院校（元）", "In the province (yuan)"),
    "rule_out_of_province": ("区外院校（元）", "Outside the province (yuan)"),
    "once_only": ("一次性资助", "Once only"), "quota": ("名额（人/学年）", "Quota (persons a year)"),
    "budget": ("预算（元/学年）", "Budget (yuan a year)"), "notice_days": ("公示天数", "Notice days"),
    "opens_on": ("申请开始", "Opens on"), "closes_on": ("申请截止", "Closes on"), "family": ("项目系列", "Family"),
    "pooling": ("分配方式", "Pooling"), "levels": ("学历层次", "Levels"),
    "eligible": ("资助对象", "Eligible categories"),
    "take_grant_application": ("受理资助申请", "Take a grant application"),
    "student_id": ("学生编号", "Student no."), "bank_card": ("银行卡号", "Bank card"),
    "open_notice": ("发起公示", "Put on public notice"), "starts_on": ("公示开始", "Notice starts"),
    "ends_on": ("公示结束", "Notice ends"), "finalize": ("公示期满，确定资助", "Finalise the awards"),
    "as_of": ("截至日期", "As of"), "notices": ("公示", "Notices"), "notice": ("公示名单", "Public notice"),
    "notice_pdf": ("打印公示（PDF）", "Print the notice (PDF)"), "notice_public": ("公开页面", "Public page"),
    "objections_open": ("未处理异议", "Open objections"), "rule_note": ("金额依据", "Amount from"),
    # applications and review
    "grant_applications": ("资助申请", "Grant applications"), "review": ("审核", "Review"),
    "approve_grant": ("审核通过", "Approve"), "reject_grant": ("不予通过", "Reject"),
    "reviewed_by": ("审核人", "Reviewed by"),
    # awards and payments
    "award": ("资助", "Award"), "funded": ("已分配资金（元）", "Funded (yuan)"),
    "finalized_on": ("确定日期", "Finalised on"), "pay": ("发放", "Pay"), "paid_out_on": ("发放日期", "Paid on"),
    "pay_reference": ("发放流水号", "Payment reference"), "acknowledged_on": ("回执日期", "Acknowledged on"),
    "acknowledgement": ("受助回执（PDF）", "Acknowledgement (PDF)"), "allocations": ("资金来源明细", "Allocation lines"),
    # donations and receipts
    "record_donation": ("登记捐赠", "Record a donation"), "donor": ("捐赠方", "Donor"),
    "received_on": ("到账日期", "Received on"), "method": ("方式", "Method"),
    "directed_student_ids": ("定向受助学生编号（逗号分隔，可空）", "Directed to students (ids, comma-separated)"),
    "allocated": ("已分配（元）", "Allocated (yuan)"), "unallocated": ("未分配（元）", "Unallocated (yuan)"),
    "received": ("捐赠到账（元）", "Received (yuan)"), "receipt_no": ("收据号", "Receipt no."),
    "receipt": ("捐赠收据", "Receipt"), "donation_recorded": ("捐赠已登记，收据号见下。",
                                                          "The donation is recorded; its receipt number is below."),
    "download_pdf": ("下载 PDF", "Download PDF"),
    "print_note": ("首次打印为原件，之后每次打印均为“副本”。", "The first print is the original; every later print is marked 副本 (copy)."),
    "printed": ("已打印原件", "Original printed"), "not_printed": ("尚未打印", "Not printed yet"),
    "void": ("作废", "Void"), "void_reason": ("作废原因", "Reason for voiding"),
    "voided": ("收据已作废，已开具替换收据。", "The receipt is void; a replacement was issued."),
    "replaces": ("替换", "Replaces"), "replaced_by": ("被替换为", "Replaced by"),
    "verify_code": ("校验码", "Verification code"), "issued_on": ("开具日期", "Issued on"),
    "amount_in_words": ("大写金额", "In words"), "issuer": ("开具人", "Issuer"),
    # reports
    "grants_report": ("资助统计（按发放年度）", "Grants paid (calendar year)"),
    "persons": ("人数", "Persons"), "person_times": ("人次", "Person-times"),
    "annual_pdf": ("年度资助统计（PDF）", "Annual summary (PDF)"),
    "aging_report": ("逾期账龄", "Overdue aging"), "bucket": ("账龄（天）", "Days past due"),
    "aging_xlsx": ("逾期账龄（Excel）", "Overdue aging (Excel)"),
    "default_rate_xlsx": ("违约率（Excel，按{by}）", "Default rate (Excel, by {by})"),
    "subsidy_xlsx": ("财政贴息结算单（Excel）", "Subsidy bill (Excel)"),
    "loans_xlsx": ("贷款统计（Excel）", "Loans report (Excel)"),
    "by_county": ("县", "county"), "by_university": ("高校", "university"),
    "by_graduation_year": ("毕业年份", "graduation year"), "by_contract_year": ("合同学年", "contract year"),
    # dashboard and contract
    "reminders": ("还款提醒", "Reminders"), "reminders_sent": ("已发送提醒", "Reminders sent"),
    "kpi_delivered": ("已送达", "Delivered"), "kpi_failed": ("发送失败", "Failed"), "kpi_queued": ("待发送", "Queued"),
    "chart_donations": ("捐赠资金（万元）", "Donations (10,000 yuan)"), "bar_received": ("到账", "Received"),
    "bar_allocated": ("已分配", "Allocated"), "bar_unallocated": ("未分配", "Unallocated"), "channel": ("渠道", "Channel"),
    "recipient": ("接收人", "Recipient"),
    # donor portal
    "allocation_report": ("捐赠去向报告", "Allocation report"),
    "allocation_pdf": ("下载捐赠去向报告（PDF）", "Download the allocation report (PDF)"),
    "recipients_n": ("受助学生（人）", "Students helped"), "paid_out": ("已发放（元）", "Paid out (yuan)"),
    "no_donor": ("该账号未关联捐赠方。", "This account is not linked to a donor."),
}

GRANT_LABELS_ZH: dict[str, str] = {
    "social": "社会捐赠", "government": "财政资金", "fixed": "固定金额", "by_level": "按学历层次",
    "by_province": "按区内外", "fifo": "先到先用", "pro_rata": "按比例", "bank_transfer": "银行转账", "cash": "现金",
    "cheque": "支票", "online": "网上支付", "noticed": "公示中", "awarded": "已确定资助", "under_review": "复核中",
    "revoked": "已撤销", "issued": "有效", "void": "已作废", "queued": "待发送", "sending": "发送中", "sent": "已发送",
    "failed": "发送失败", "delivered": "已送达", "sms": "短信", "email": "邮件", "webhook": "接口推送",
    "in_province": "区内院校", "out_of_province": "区外院校", "co_borrower": "共同借款人", "staff": "工作人员", "donor": "捐赠方", "organization": "单位", "individual": "个人",
}

GRANT_MESSAGES.update({
    "total": ("合计", "Total"),
    "award_awarded": ("待发放", "to be paid"), "award_paid": ("已发放", "paid"),
    "award_under_review": ("复核中", "under review"), "award_revoked": ("已撤销", "revoked"),
})
