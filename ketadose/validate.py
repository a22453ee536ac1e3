"""Validate regimen data: format, consistency rules, then the limit library.

Limits are checked here on the numbers a regimen fixes without a patient (rates
per kg, absolute rates and caps, fixed session amounts, course length); the plan
checks the same library again on the patient-specific numbers.
"""

from __future__ import annotations

from ketadose import limits as lim
from ketadose.regimen import build
from ketadose.units import OverTime, Quantity, parse_unit

_MG = parse_unit("mg")
_MG_H = parse_unit("mg/h")
_DAY = parse_unit("day")


def validate(data, library: lim.LimitLibrary, explain: dict | None = None):
    """Return (regimen or None, findings). The regimen is None when the format fails.

    ``explain`` (for --explain) receives the rules evaluated and the limits consulted.
    """
    regimen, findings = build(data)
    evaluated = explain.setdefault("rules_evaluated", []) if explain is not None else []
    consulted = explain.setdefault("limits_consulted", []) if explain is not None else None
    evaluated.append(("KD-V001..KD-V006 (format v1)", "fired" if findings else "not fired"))
    if regimen is None:
        return None, findings
    from ketadose.rules import regimen as consistency

    def apply(rules):
        for r in rules:
            found = r.check(regimen, library)
            evaluated.append((r.id, "fired" if found else "not fired"))
            findings.extend(found)

    apply(consistency.SHAPE_RULES)
    if findings:
        return regimen, findings
    apply(consistency.RULES[len(consistency.SHAPE_RULES):])
    if any(f.severity == "error" for f in findings):
        return regimen, findings  # limits on an inconsistent regimen would mislead
    ctx = lim.LimitContext(regimen.drug, regimen.route, regimen.setting, regimen.confirm)
    for measure, qty, what, path in regimen_measures(regimen):
        findings += lim.check(library, ctx, measure, qty, what, path, consulted)
    return regimen, findings


def regimen_measures(regimen):
    """(measure, quantity, description, path) for every number the regimen fixes."""
    out = []
    iv_like = regimen.route in ("iv", "sc")
    session_mg = 0.0 if iv_like else None  # None once a per-kg dose makes it patient-specific
    for p in regimen.phases:
        path = ("schedule", "phases", p.index)

        def add(measure, qty, what, key, p=p, path=path):
            out.append((measure, qty, f"phase {p.name!r}: {what}", path + (key,)))

        if p.kind == "infusion":
            rate = p.dose.rate() if isinstance(p.dose, OverTime) else p.rate
            key = "dose" if isinstance(p.dose, OverTime) else "rate"
            add(_rate_measure(rate), rate, "rate", key)
            if p.max_rate is not None:
                add("rate", p.max_rate, "rate cap", "max_rate")
        elif p.kind == "titration":
            add(_rate_measure(p.max), p.max, "titration maximum", "max")
            if p.max_rate is not None:
                add("rate", p.max_rate, "rate cap", "max_rate")
        elif p.kind == "escalation":
            add(_rate_measure(p.steps[-1]), p.steps[-1], "highest escalation step", "steps")
            if p.max_rate is not None:
                add("rate", p.max_rate, "rate cap", "max_rate")
        elif p.kind == "bolus":
            minutes = p.over.magnitude("min")
            add("push_time", p.over.to("min"), "bolus given over", "over")
            if p.dose.unit.per_kg:
                add("bolus_per_kg", p.dose, "bolus", "dose")
                add("push_rate_per_kg", Quantity(p.dose.magnitude("mg/kg") / minutes,
                                                 parse_unit("mg/kg/min")), "push rate", "over")
        elif p.kind == "oral" and p.dose.unit.per_kg:
            per_day = Quantity(p.dose.magnitude("mg/kg") * p.times_per_day, parse_unit("mg/kg/day"))
            add("daily_dose_per_kg", per_day, f"daily dose ({p.dose} x {p.times_per_day})", "dose")
            if p.max_daily is not None and p.max_daily.unit.per_kg:
                add("daily_dose_per_kg", p.max_daily.to("mg/kg/day"), "top of the titration",
                    "max_daily")
        elif p.kind == "topical":
            add("strength", p.strength, "strength", "strength")
        if session_mg is not None:
            mg = _fixed_mg(p)
            session_mg = None if mg is None else session_mg + mg
    if regimen.preparation and regimen.preparation.concentration is not None:
        out.append(("concentration", regimen.preparation.concentration, "preparation: concentration",
                    ("preparation", "concentration")))
    if regimen.pattern == "continuous":
        days = Quantity(regimen.session_hours() / 24.0, _DAY)
        out.append(("continuous_days", days, "continuous infusion length", ("schedule", "days")))
    else:
        out.append(("course_days", Quantity(float(regimen.days), _DAY), "course length",
                    ("schedule", "days")))
        if session_mg:
            q = Quantity(session_mg, _MG)
            out.append(("session_dose", q, "session dose", ("schedule", "phases")))
            out.append(("daily_dose", q, "daily dose", ("schedule", "phases")))
    return out


def _rate_measure(q) -> str:
    return "rate_per_kg" if q.unit.per_kg else "rate"


def _fixed_mg(p):
    """The most a phase can give without knowing the patient, in mg; None if unknown."""
    hours = p.hours()
    if p.kind == "infusion":
        if isinstance(p.dose, OverTime):
            return None if p.dose.amount.unit.per_kg else p.dose.amount.canonical()
        if not p.rate.unit.per_kg:
            return p.rate.canonical() * hours
        return p.max_rate.canonical() * hours if p.max_rate is not None else None
    if p.kind == "bolus":
        if not p.dose.unit.per_kg:
            return p.dose.canonical()
        return p.max_dose.canonical() if p.max_dose is not None else None
    if p.kind in ("titration", "escalation"):
        top = p.max if p.kind == "titration" else p.steps[-1]
        cap = p.max_rate.canonical() if p.max_rate is not None else None
        if not top.unit.per_kg:
            cap = top.canonical() if cap is None else min(cap, top.canonical())
        return None if cap is None else cap * hours
    return None
