"""The registry's codes and their words, in one place: student level, hardship category, co-borrower relationship.

Every screen, paper, report and message takes its labels from here (zh, en). The hardship categories are
DOMAIN.md's list (家庭经济困难类别); 其他 is "other hardship" in English.
"""

from __future__ import annotations

LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "junior_college": ("专科", "junior college"),
    "undergraduate": ("本科", "undergraduate"),
    "graduate": ("研究生", "graduate"),
}
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "registered_poor": ("建档立卡", "registered poor household"),
    "minimum_allowance": ("低保", "minimum living allowance"),
    "destitute": ("特困供养", "destitute support"),
    "orphan": ("孤儿", "orphan"),
    "disabled": ("残疾", "disabled"),
    "other": ("其他", "other hardship"),
}
RELATIONSHIP_LABELS: dict[str, tuple[str, str]] = {
    "father": ("父亲", "father"),
    "mother": ("母亲", "mother"),
    "guardian": ("监护人", "guardian"),
    "spouse": ("配偶", "spouse"),
    "other": ("其他", "other"),
}

LEVELS = tuple(LEVEL_LABELS)
CATEGORIES = tuple(CATEGORY_LABELS)
RELATIONSHIPS = tuple(RELATIONSHIP_LABELS)  # every code a stored contract may carry (older books have the others)
# Who may sign as co-borrower now: a parent or legal guardian, equally liable (DOMAIN.md, The people).
CO_BORROWER_RELATIONSHIPS = ("father", "mother", "guardian")

LEVELS_ZH = {code: zh for code, (zh, _) in LEVEL_LABELS.items()}
CATEGORIES_ZH = {code: zh for code, (zh, _) in CATEGORY_LABELS.items()}
RELATIONSHIPS_ZH = {code: zh for code, (zh, _) in RELATIONSHIP_LABELS.items()}


def level_zh(code: str) -> str:
    """The level's Chinese word (an unknown code as itself)."""
    return LEVELS_ZH.get(code, code)


def labels(lang: str) -> dict[str, str]:
    """Every code of the three lists with its words in `lang` ("zh" or "en"), for a flat label table."""
    i = 0 if lang == "zh" else 1
    return {
        code: words[i]
        for table in (LEVEL_LABELS, CATEGORY_LABELS, RELATIONSHIP_LABELS)
        for code, words in table.items()
    }
