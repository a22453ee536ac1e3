"""Numbers as the plan renderers print them (terminal table and HTML page alike).

A zero is printed as 0 (0.0), never as -0 (-0.0): a value that rounds to zero from below (a
pump rounding error of -1e-15 mg/h, float noise) would otherwise print a negative zero, which a
clinician reads as a sign that means something (issue nit23 item 1)."""

from __future__ import annotations


def unsigned_zero(text: str) -> str:
    """``text`` (a formatted number) without the minus of a negative zero: '-0.00' -> '0.00'."""
    return text[1:] if text[:1] == "-" and not text.strip("-0.") else text


def number(x, digits: int = 1, unit: str = "", missing: str = "-") -> str:
    """``x`` to at most ``digits`` decimals without trailing zeros, with its unit; ``missing``
    for None or NaN."""
    if x is None or x != x:
        return missing
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:.0f}"
    return f"{unsigned_zero(text)} {unit}".strip()


def signed(x, digits: int = 2) -> str:
    """A change with its sign to ``digits`` decimals ('+1.25', '-0.40'); a change that rounds
    to zero is '0.00', without a sign."""
    text = f"{x:+.{digits}f}"
    return text[1:] if not text.strip("+-0.") else text


def mg_range(lo, hi, dash: str = "-") -> str:
    """'12.5 mg', or '10-12.5 mg' when the bounds differ (``dash`` between them)."""
    if lo is None and hi is None:
        return dash
    if lo is None or hi is None or abs(lo - hi) < 1e-9:
        return number(hi if hi is not None else lo, 1, "mg")
    return f"{number(lo, 1)}{dash}{number(hi, 1, 'mg')}"


def machine(x, nd: int = 4):
    """A number for machine output: enough digits to recompute, no float noise
    (0.30000000000000004), and no negative zero (round(-1e-15, 4) is -0.0: adding 0 makes it
    0.0 and leaves every other value, and an int's type, as it is). None and NaN (an untimed
    titration step) become null. The table and the page print these same values, so that no
    output disagrees with the JSON."""
    if x is None or x != x:
        return None
    return round(x, nd) + 0
