"""Numbers as the plan renderers print them (terminal table and HTML page alike)."""

from __future__ import annotations


def number(x, digits: int = 1, unit: str = "", missing: str = "-") -> str:
    """``x`` to at most ``digits`` decimals without trailing zeros, with its unit; ``missing``
    for None or NaN."""
    if x is None or x != x:
        return missing
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:.0f}"
    return f"{text} {unit}".strip()


def mg_range(lo, hi, dash: str = "-") -> str:
    """'12.5 mg', or '10-12.5 mg' when the bounds differ (``dash`` between them)."""
    if lo is None and hi is None:
        return dash
    if lo is None or hi is None or abs(lo - hi) < 1e-9:
        return number(hi if hi is not None else lo, 1, "mg")
    return f"{number(lo, 1)}{dash}{number(hi, 1, 'mg')}"


def machine(x, nd: int = 4):
    """A number for machine output: enough digits to recompute, no float noise
    (0.30000000000000004). None and NaN (an untimed titration step) become null. The table and
    the page print these same values, so that no output disagrees with the JSON."""
    if x is None or x != x:
        return None
    return round(x, nd)
