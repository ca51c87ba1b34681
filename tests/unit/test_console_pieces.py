"""The console's pure pieces: the SVG bar chart, the catalogue and naming the form field a validation is about."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from service.app import console_sections
from service.auth import AuthUser
from service.web.charts import Bar, bar_chart
from service.web.console import field_of, nav_for
from service.web.i18n import MESSAGES, TEXTS


def test_bars_are_proportional_and_labels_escaped():
    svg = bar_chart([Bar("2024", 100, "1.0"), Bar("<b>", 50, "0.5")], "金额 & 年")
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] == 2 * heights[1] and "&lt;b&gt;" in svg and "金额 &amp; 年" in svg
    assert bar_chart([], "空").startswith("<svg") and "<rect" not in bar_chart([], "空")


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=30))
def test_every_bar_fits_in_the_chart(values):
    svg = bar_chart([Bar(str(i), v, str(v)) for i, v in enumerate(values)], "t", height=220)
    for y, h in re.findall(r'<rect [^>]*y="([\d.]+)" [^>]*height="([\d.]+)"', svg):
        assert float(y) >= 0 and float(y) + float(h) <= 220 - 28 + 0.2


def test_catalogue_has_both_languages_and_words_for_codes():
    assert all(len(pair) == 2 and all(pair) for pair in MESSAGES.values())
    zh, en = TEXTS["zh"], TEXTS["en"]
    assert zh.students == "学生" and en.students == "Students" and zh.missing_key == "missing_key"
    assert zh("total_n", n=3) == "共 3 条" and en("total_n", n=3) == "3 in all"
    assert zh.label("in_school") == "在校" and zh.label("registered_poor") == "建档立卡"
    assert zh.role_graduate == "借款学生" and zh.label("graduate") == "研究生"  # a role is not a level
    assert en.label("receipt_confirmed") == "receipt confirmed" and zh.label(None) == ""


def test_form_field_named_by_a_validation_message():
    assert field_of("Expected `int`, got `str` - at `$.study_years`") == "study_years"
    assert field_of("Object missing required field `amount`") == "amount"
    assert field_of("Object missing required field `phone` - at `$.co_borrower`") == "co_phone"
    assert field_of("Invalid enum value 'x' - at `$.co_borrower.relationship`") == "relationship"
    assert field_of("Expected `str` - at `$.categories[0]`") == "categories"


CONSOLE = console_sections()  # the frame and the domains' sections, as the app composes them (their words too)


def test_navigation_follows_the_role():
    def paths(role: str) -> list[str]:
        return [item.path for item in nav_for(CONSOLE, AuthUser(1, "u", role))]

    assert paths("graduate") == ["/console/me"] and paths("school")[0] == "/console/school/receipts"
    assert "/console/audit" in paths("auditor") and "/console/audit" not in paths("officer")
    assert "/console/import" in paths("officer") and len(paths("admin")) == len(CONSOLE.nav) == 19
    assert "/console/import/batches" in paths("reviewer") and "/console/import" not in paths("reviewer")
    assert paths("donor") == ["/console/donor"] and nav_for(CONSOLE, None) == []
    assert "/console/grants/applications?status=submitted" in paths("reviewer") and "/console/programs" in paths(
        "auditor"
    )
    assert "/console/grants/objections" in paths("reviewer") and "/console/grants/objections" not in paths("officer")


def test_the_loan_api_takes_the_co_borrower_relationships_of_the_vocabulary():
    from typing import get_args

    from loans.schemas import Relationship
    from service.registry.vocabulary import CO_BORROWER_RELATIONSHIPS

    assert get_args(Relationship) == CO_BORROWER_RELATIONSHIPS  # the one list: a parent or legal guardian
