"""Dates and times read alike on every supported Python (ketadose.isotime): these forms are
what Python 3.11's fromisoformat reads; 3.10's own read only the first of each list, so every
other case fails there without the backport."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from ketadose.isotime import parse_date, parse_datetime

NINE = dt.datetime(2026, 12, 1, 9, 0)
UTC = dt.timezone.utc


@pytest.mark.parametrize("text, want", [
    ("2026-12-01T09:00", NINE),
    ("2026-12-01 09:00", NINE),
    ("20261201T0900", NINE),
    ("2026-12-01T09", NINE),
    ("2026-W49-2T09:00", NINE),
    ("2026W492T0900", NINE),
    ("2026-12-01T09:00:00.5", NINE.replace(microsecond=500000)),
    ("2026-12-01T09:00:00,25", NINE.replace(microsecond=250000)),
    ("2026-12-01T09:00:00.1234567", NINE.replace(microsecond=123456)),
    ("2026-12-01T09:00Z", NINE.replace(tzinfo=UTC)),
    ("2026-12-01T09:00+00:00", NINE.replace(tzinfo=UTC)),
    ("2026-12-01T09:00+0530", NINE.replace(tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))),
    ("2026-12-01T09:00-05", NINE.replace(tzinfo=dt.timezone(-dt.timedelta(hours=5)))),
])
def test_a_datetime_reads_as_on_python_3_11(text, want):
    got = parse_datetime(text)
    assert got == want and got.utcoffset() == want.utcoffset()
    # a time zone is the standard library's (UTC is its singleton), as 3.11 gives it
    assert got.tzinfo is None or type(got.tzinfo) is dt.timezone
    assert want.tzinfo is not UTC or got.tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-12-01", "20261201", "2026-W49-2", "2026W492"])
def test_a_date_reads_as_on_python_3_11(text):
    assert parse_date(text) == dt.date(2026, 12, 1)


@pytest.mark.parametrize("text", ["2026-12-01T25:00", "2026-02-30T09:00", "2026-12", "09:00",
                                  "2026-12-01T09:00 ", " 2026-12-01T09:00", "2026-12-01T9:00",
                                  "2026-12-01T09:00+24:00", ""])
def test_what_python_3_11_refuses_is_refused(text):
    with pytest.raises(ValueError):
        parse_datetime(text)


@pytest.mark.parametrize("start", ["2026-12-01T09:00Z", "20261201T0900", "2026-W49-2T09:00"])
def test_the_command_line_plans_from_these_forms(start):
    """Through the real entry point: the plan's start is the time written, on this Python."""
    proc = subprocess.run([sys.executable, "-m", "ketadose", "plan", "crps-schwartzman-2009",
                           "--weight", "70kg", "--start", start, "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    got = dt.datetime.fromisoformat(json.loads(proc.stdout)["start"])
    assert got.replace(tzinfo=None) == NINE
    assert got.utcoffset() == (dt.timedelta(0) if start.endswith("Z") else None)
