"""The one rule for dates on a money path: never after the centre's today, never before what it belongs to.

A repayment, a reversal, a disbursement, a donation, an award's payment: each happened on a day that has
already come (the centre's business date, Settings.today(), passed in: no clock here), and not before the
thing it belongs to existed (the contract's signing, its disbursement, the award's decision) nor before the
book began (BOOK_START: the service carries contracts back to 2007). A date outside that is a typo or an
attack (a 9999-12-31 repayment books interest for decades; a donation dated 0001 gets receipt JZ-0001-…),
so it is refused with a 422 naming the field, and nothing is written.
"""

from __future__ import annotations

from datetime import date

from service.problems import Problem, problem_type

BOOK_START = date(2007, 1, 1)  # origin-based student loans (and this centre's book) begin in 2007

DATE_OUT_OF_RANGE = problem_type("date-out-of-range", 422, "日期超出允许范围", "The date is out of range")


def date_fault(
    on: date,
    field: str,
    *,
    today: date,
    after: date | None = None,
    after_zh: str = "",
    after_en: str = "",
    latest: date | None = None,
) -> tuple[str, str, dict[str, str]] | None:
    """Why `on` is out of range, or None: (message zh, message en, {"latest" or "earliest": the bound}).

    In range is BOOK_START (or `after`, whichever is later) <= on <= today (or `latest`, when a date may
    look ahead, as a quote's does). `after_zh` / `after_en` name what `after` is ("放款日期" / "disbursement")."""
    top = today if latest is None else latest
    if on > top:
        if latest is None:
            return f"日期 {on} 不能晚于今天（{today}）", f"{field} {on} is after today ({today})", {"latest": str(top)}
        return (
            f"日期 {on} 不能晚于 {top}",
            f"{field} {on} is after {top}, the latest allowed",
            {"latest": str(top)},
        )
    if after is not None and after > BOOK_START and on < after:
        return (
            f"日期 {on} 不能早于{after_zh}（{after}）",
            f"{field} {on} precedes the {after_en} ({after})",
            {"earliest": str(after)},
        )
    if on < BOOK_START:
        return (
            f"日期 {on} 不能早于 {BOOK_START}（账簿的起点）",
            f"{field} {on} precedes {BOOK_START}, the start of the book",
            {"earliest": str(BOOK_START)},
        )
    return None


def check_date(
    on: date,
    field: str,
    *,
    today: date,
    after: date | None = None,
    after_zh: str = "",
    after_en: str = "",
    latest: date | None = None,
) -> date:
    """`on` itself when date_fault finds nothing; otherwise a date-out-of-range problem naming `field`."""
    fault = date_fault(on, field, today=today, after=after, after_zh=after_zh, after_en=after_en, latest=latest)
    if fault is not None:
        zh, en, extra = fault
        raise Problem(DATE_OUT_OF_RANGE, zh + "。", en + ".", field=field, extra=extra)
    return on


__all__ = ["BOOK_START", "DATE_OUT_OF_RANGE", "check_date", "date_fault"]
