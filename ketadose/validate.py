"""Validate regimen data: format, consistency rules, then the limit library.

Limits are checked here on the numbers a regimen fixes without a patient (rates
per kg, absolute rates and caps, fixed session amounts, course length); the plan
checks the same library again on the patient-specific numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketadose import limits as lim
from ketadose.regimen import build
from ketadose.units import Quantity, parse_unit

if TYPE_CHECKING:  # the caller's vocabulary builds it; nothing to load here
    from ketadose.allergies import Matcher

_MG = parse_unit("mg")
_DAY = parse_unit("day")


def validate(data, library: lim.LimitLibrary, explain: dict | None = None, *,
             substances: Matcher):
    """Return (regimen or None, findings). The regimen is None when the format fails.

    ``substances`` is the vocabulary's allergy matcher (``vocabulary().substances``): KD-V024
    reads an adjunct's name with it, as the allergy screen reads an allergy. Required: without
    it a ketamine adjunct would pass unseen. ``explain`` (for --explain) receives the rules
    evaluated and the limits consulted.
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
            found = r.check(regimen, library, substances)
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
        kind = p.phase_kind  # what a kind fixes without a patient, it says (dosing.PhaseKind)
        out += [(measure, qty, f"phase {p.name!r}: {what}", ("schedule", "phases", p.index, key))
                for measure, qty, what, key in kind.measures(p)]
        if session_mg is not None:
            mg = kind.fixed_mg(p)
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

