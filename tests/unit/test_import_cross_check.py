"""The reader process's yes/no check across rows (loans.import_reader.CrossCheck) against the rules it stands in
for (loans.import_rules.cross_rules): a streamed import keeps what it wrote only when CrossCheck finds nothing, so
it must find something exactly when cross_rules reports an error, however the rows are split into blocks."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from loans.import_reader import CrossCheck
from loans.import_rules import cross_rules

from .test_loan_excel import SHEET, _row

PEOPLE = ["11010519491231002X", "110105194912310037", "110105194912310045", "110105194912310053"]
rows_strategy = st.lists(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(["甲", "乙"]),
                                   st.sampled_from(PEOPLE), st.sampled_from(["丙", "丁"]),
                                   st.integers(2022, 2025), st.integers(0, 30)), min_size=1, max_size=12)


@settings(max_examples=400, deadline=None)
@given(rows_strategy, st.integers(1, 5))
def test_cross_check_finds_something_exactly_when_cross_rules_do(spec: list[Any], block: int) -> None:
    rows = [_row(n + 2, id_number=sid, name=name, co_id_number=cid, co_name=co_name, academic_year=year,
                 contract_no=f"C-{number}")
            for n, (sid, name, cid, co_name, year, number) in enumerate(spec) if sid != cid]
    if not rows:
        return
    errors: list[Any] = []
    cross_rules(SHEET, rows, errors)
    check = CrossCheck()
    for start in range(0, len(rows), block):
        check.add(rows[start:start + block])
    assert check.found == bool(errors)
