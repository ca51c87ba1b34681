"""A traceback in the log is masked like the message: an exception's text may quote personal data."""

from __future__ import annotations

import logging
import sys

from service.logs import RedactingFormatter


def test_a_traceback_is_masked_too():
    try:
        raise ValueError("duplicate key (id_number)=(150430200705060775) phone 13987650077")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed for %s", ("6222020200112233",), sys.exc_info()
        )
    text = RedactingFormatter("%(message)s").format(record)
    assert "Traceback" in text and "ValueError" in text
    for secret in ("150430200705060775", "13987650077", "6222020200112233"):
        assert secret not in text
