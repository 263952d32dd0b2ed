"""The edge of the history: values from FreeSWITCH bounded and made printable, never
refused (pure functions; the recorder applies them with its column sizes)."""

from __future__ import annotations

import math

from esl_controller.domain.bounded import (
    MARK,
    bounded_json,
    bounded_record,
    bounded_text,
    epoch,
    finite,
    free_text,
    truncate,
)
from esl_controller.services.recorder import CALL_LIMITS


def test_long_values_are_cut_with_a_visible_mark() -> None:
    assert bounded_text("x" * 10_000, 128) == "x" * 127 + MARK
    assert bounded_text("short", 128) == "short"
    assert truncate("abcdef", 1) == "a" and truncate("abc", 0) == ""
    assert len(bounded_text("é" * 500, 64)) == 64  # characters, as PostgreSQL counts them


def test_control_characters_and_bad_text_become_visible() -> None:
    assert bounded_text("a\x00b\r\nc\x1b[31m\x7f", 64) == "a\u2400b\u240d\u240ac\u241b[31m\u2421"
    assert bounded_text("\udcff\x85", 64) == "\ufffd\ufffd"  # lone surrogate, C1 control
    assert bounded_text("555\u202e1234", 64) == "555\ufffd1234"  # no reordering on screen
    assert bounded_text(b"Bad\xff\xfe", 64) == "Bad\ufffd\ufffd"
    assert bounded_text("${system(x)} 'q' \"q\"", 64) == "${system(x)} 'q' \"q\""  # text
    assert free_text("line one\nline two\ttab\x00") == "line one\nline two\ttab\u2400"


def test_numbers_and_times_the_database_cannot_hold_become_none() -> None:
    assert finite(float("nan")) is None and finite(math.inf) is None and finite("x") is None
    assert finite(True) is None and finite(2) == 2.0
    assert (
        epoch(1e20) is None and epoch(-1e20) is None and epoch(1_700_000_000.5) == 1_700_000_000.5
    )


def test_records_are_bounded_to_their_columns() -> None:
    record = bounded_record({"cid_name": "N" * 500, "cid_number": "5\x00", "notes": "a\nb",
                             "wait_seconds": 3.0}, CALL_LIMITS)  # fmt: skip
    assert record == {"cid_name": "N" * 127 + MARK, "cid_number": "5\u2400", "notes": "a\nb",
                      "wait_seconds": 3.0}  # fmt: skip


def test_nested_details_are_bounded() -> None:
    deep: dict[str, object] = {"v": "x"}
    for _ in range(10):
        deep = {"d": deep}
    out = bounded_json({"list": list(range(500)), "nan": math.nan, "deep": deep, "k\x00": b"\xff"})
    assert len(out["list"]) == 50 and out["nan"] is None and out["k\u2400"] == "\ufffd"
    assert isinstance(out["deep"]["d"]["d"]["d"], str)  # cut at MAX_DEPTH, kept as text
