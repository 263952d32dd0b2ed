"""PHONE_RESUME_WINDOW: seconds after a "Phone offline" pause within which a phone that
registers again puts the agent back; 0 turns it off, anything else must be a number."""

from __future__ import annotations

import pytest

from esl_controller.config import load_settings
from esl_controller.errors import InvalidArgument


@pytest.mark.parametrize(("raw", "seconds"), [(None, 60.0), ("", 60.0), ("0", 0.0),
                                              ("0.2", 0.2), (" 120 ", 120.0)])  # fmt: skip
def test_the_window_is_read_from_the_environment(raw: str | None, seconds: float) -> None:
    env = {} if raw is None else {"PHONE_RESUME_WINDOW": raw}
    assert load_settings(env).phone_resume_window == seconds


@pytest.mark.parametrize("raw", ["-1", "soon", "nan", "inf"])
def test_a_bad_window_is_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument, match="PHONE_RESUME_WINDOW"):
        load_settings({"PHONE_RESUME_WINDOW": raw})
