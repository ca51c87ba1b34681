"""service.edge's rules as plain functions: what is refused, what is cleaned, what is kept as typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.edge import MAX_DEPTH, MAX_ITEMS, clean_json, clean_query, clean_text, has_control_character
from service.errors import without_values
from service.problems import Problem


def test_multi_line_text_keeps_tabs_and_line_breaks_inside():
    assert clean_json({"reason": " 第一行\n\t第二行\r\n "}) == {"reason": "第一行\n\t第二行"}
    assert has_control_character("a\nb", multiline=False)
    assert not has_control_character("a\nb")


@pytest.mark.parametrize("char", [chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127)])
def test_every_other_control_character_is_refused(char):
    with pytest.raises(Problem) as exc:
        clean_json({"co_borrower": {"name": f"王{char}"}})
    assert exc.value.field == "co_borrower.name" and exc.value.kind.status == 400


def test_passwords_are_checked_but_never_altered():
    assert clean_json({"password": "  pa\u0301ss  "}) == {"password": "  pa\u0301ss  "}
    with pytest.raises(Problem):
        clean_json({"new_password": "a\u0000"})


def test_depth_and_length_bounds():
    ok: object = []
    for _ in range(MAX_DEPTH - 1):
        ok = [ok]
    assert clean_json(ok) == ok
    with pytest.raises(Problem):
        clean_json([ok])
    assert len(clean_json(list(range(MAX_ITEMS)))) == MAX_ITEMS
    with pytest.raises(Problem):
        clean_json(list(range(MAX_ITEMS + 1)))


def test_query_strings():
    assert clean_query(b"q=%E5%BC%A0%E4%B8%89&limit=10") == b"q=%E5%BC%A0%E4%B8%89&limit=10"  # unchanged: as sent
    assert clean_query(b"q=+%E3%80%80a%CC%81+") == b"q=%C3%A1"
    for bad in (b"q=%00", b"q=a%0Ab", b"q=%ff"):
        with pytest.raises(Problem):
            clean_query(bad)


@given(st.text())
def test_clean_text_is_idempotent_and_never_leaves_a_control_character(text):
    try:
        once = clean_text(text, "x")
    except Problem:
        assert has_control_character(text)
        return
    assert clean_text(once, "x") == once and not has_control_character(once)


def test_validation_messages_lose_the_value():
    assert without_values("Invalid enum value '110105200001011234'") == "Invalid enum value"
    assert without_values("Expected `int`, got `str` - at `$.limit`") == "Expected `int`, got `str` - at `$.limit`"
    assert "13812345678" not in without_values("Validation failed for GET http://x/api?sort=13812345678")
