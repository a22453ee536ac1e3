"""One-line human descriptions of phases and schedules (pure; used by every renderer)."""

from __future__ import annotations


def phase_dose(p) -> str:
    """The dose of a phase as written, e.g. '0.35 mg/kg/h, max 25 mg/h' (its kind says how)."""
    return p.phase_kind.describe(p)


def phase_duration(p) -> str:
    hours = p.hours()
    if hours is None:
        return "per day"
    return hours_text(hours)


def hours_text(hours: float) -> str:
    """'4 h', '30 min', '5 days'."""
    if hours >= 48 and abs(hours / 24 - round(hours / 24)) < 1e-9:
        return f"{round(hours / 24)} days"
    if hours < 1:
        return f"{hours * 60:.3g} min"
    return f"{hours:.4g} h"


def schedule_summary(regimen) -> str:
    """E.g. '0.35 mg/kg/h, max 25 mg/h for 4 h; daily for 10 days'."""
    parts = []
    for p in regimen.phases:
        hours = p.hours()
        parts.append(phase_dose(p) + ("" if hours is None else f" for {hours_text(hours)}"))
    if regimen.pattern == "continuous":
        when = f"continuous over {regimen.days} days"
    else:
        when = f"daily for {regimen.days} days"
    return "; ".join(parts) + f"; {when}"


def evidence_summary(regimen) -> str:
    primary = [e for e in regimen.evidence if e.role == "primary"] or list(regimen.evidence)
    return "; ".join(f"{e.design}" + (f", n={e.n}" if e.n else "") + f" ({e.result})"
                     for e in primary)
