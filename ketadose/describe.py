"""One-line human descriptions of phases and schedules (pure; used by every renderer)."""

from __future__ import annotations

from ketadose.units import OverTime, display


def phase_dose(p) -> str:
    """The dose of a phase as written, e.g. '0.35 mg/kg/h, max 25 mg/h'."""
    cap = f", max {display(p.max_rate)}" if p.max_rate is not None else ""
    if p.kind == "infusion":
        if isinstance(p.dose, OverTime):
            return f"{display(p.dose)} (= {display(p.dose.rate())}){cap}"
        return f"{display(p.rate)}{cap}"
    if p.kind == "bolus":
        top = f", max {display(p.max_dose)}" if p.max_dose is not None else ""
        return f"{display(p.dose)} over {display(p.over)}{top}"
    if p.kind == "titration":
        every = f" every {display(p.step_every)}" if p.step_every is not None else ""
        steps = f", steps of {display(p.step)}{every}" if p.step is not None else every
        return f"start {display(p.start)}{steps}, up to {display(p.max)}{cap}"
    if p.kind == "escalation":
        steps = " -> ".join(display(s) for s in p.steps)
        return (f"{steps}, {display(p.step_duration)} per step; {display(p.hold)} at the step "
                f"reached{cap}")
    if p.kind == "oral":
        top = f", max {display(p.max_dose)}" if p.max_dose is not None else ""
        return f"{display(p.dose)} x {p.times_per_day} a day{top}"
    if p.kind == "topical":
        amount = f", {display(p.amount)} each" if p.amount is not None else ""
        return f"{display(p.strength)} x {p.applications_per_day} a day{amount}"
    return p.kind


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
