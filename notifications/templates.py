"""Message texts in Chinese (zh-CN, the default) and English, rendered from a message's own fields.

A text is rendered when it is sent, from the row's template, amount, due date and contract number and the
centre's name and phone; so the row holds no copy of the text, and a resend says the same thing. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.money import format_yuan

LANGUAGES = ("zh-CN", "en")

HOW_TO_PAY = {
    "zh-CN": "还款方式：到期前将应还金额存入您在国家开发银行助学贷款系统登记的还款账户（支付宝），到期自动扣款；"
    "或用国家开发银行助学贷款App还款；或到县学生资助管理中心柜台办理。",
    "en": "How to pay: before the due date put the amount in the repayment account (Alipay) registered with the "
    "China Development Bank student-loan system, which is debited on the due date; or pay in the CDB "
    "student-loan app; or at the county student-aid centre's counter.",
}

TEMPLATES: dict[str, dict[str, str]] = {
    "before_due": {
        "zh-CN": "{greeting}{your}生源地信用助学贷款（合同号{contract_no}）将于{due_on}到期，应还{amount}元。{how_to_pay}",
        "en": "{greeting}Your student loan (contract {contract_no}) has {amount} yuan due on {due_on}. {how_to_pay}",
    },
    "overdue": {
        "zh-CN": "{greeting}{your}生源地信用助学贷款（合同号{contract_no}）{due_on}应还的{amount}元未还清，已逾期，"
        "按日计收罚息，逾期记录将报送人民银行征信系统。请尽快还款。{how_to_pay}",
        "en": "{greeting}Your student loan (contract {contract_no}) is overdue: {amount} yuan due on {due_on} is "
        "unpaid. Penalty interest accrues daily and the overdue record goes to the credit registry. Please "
        "pay now. {how_to_pay}",
    },
    "collection": {
        "zh-CN": "{greeting}{your}生源地信用助学贷款（合同号{contract_no}）自{due_on}起逾期，尚欠{amount}元，"
        "今日为扣款日，请确保还款账户余额充足。{how_to_pay}",
        "en": "{greeting}Your student loan (contract {contract_no}) has been overdue since {due_on}; {amount} yuan "
        "is unpaid. Today is a collection day: make sure the repayment account holds enough. {how_to_pay}",
    },
    "contact_update": {
        "zh-CN": "{greeting}请于{due_on}前更新您的手机号和联系地址（登录资助系统或到县学生资助管理中心），"
        "以免错过还款提醒。",
        "en": "{greeting}Please update your phone number and address before {due_on} (online or at the county "
        "student-aid centre) so that repayment reminders reach you.",
    },
    "graduation": {
        "zh-CN": "{greeting}祝贺毕业！请提交毕业确认（工作单位、手机号、联系地址），由学校审核后生效。",
        "en": "{greeting}Congratulations on graduating! Please submit your graduation confirmation (employer, "
        "phone, address); your university reviews it.",
    },
}

GREETING = {
    ("zh-CN", "co_borrower"): "共同借款人您好：",
    ("en", "co_borrower"): "Dear co-borrower: ",
}


@dataclass(frozen=True)
class Fields:
    template: str
    recipient_role: str
    due_on: date
    contract_no: str | None = None
    amount: int | None = None  # fen


def render(fields: Fields, language: str, centre_name: str, centre_phone: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    texts = TEMPLATES.get(fields.template)
    if texts is None:
        raise KeyError(f"unknown template {fields.template!r}")
    greeting = GREETING.get((language, fields.recipient_role), "")
    your = "您共同借款的" if fields.recipient_role == "co_borrower" else "您的"
    body = texts[language].format(
        greeting=greeting,
        your=your,
        contract_no=fields.contract_no or "",
        due_on=fields.due_on.isoformat(),
        amount=format_yuan(fields.amount or 0),
        how_to_pay=HOW_TO_PAY[language],
    )
    if language == "zh-CN":
        phone = f"咨询电话：{centre_phone}。" if centre_phone else ""
        return f"【{centre_name}】{body}{phone}"
    phone = f" Questions: {centre_phone}." if centre_phone else ""
    return f"[{centre_name}] {body}{phone}"
