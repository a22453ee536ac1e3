"""A dose plan: the calculators, the limit library on the patient's own numbers, and the
preparation. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from ketadose import limits as lim
from ketadose.dosing import (DosingWeight, calendar, ceiling_findings, dosing_weight, plan_phases,
                             totals, weight_findings)
from ketadose.units import Quantity, parse_unit

# Vial strengths of ketamine injection (base): 10, 50 and 100 mg/mL (US labels; basis notes C3).
VIALS_MG_ML = (10.0, 50.0, 100.0)
VIAL_SOURCE = "US ketamine labels / openFDA (basis notes C3): 10, 50 and 100 mg/mL vials"
_MG_H, _MG, _MG_KG, _MG_KG_H, _MG_KG_DAY, _MG_ML = (parse_unit(u) for u in (
    "mg/h", "mg", "mg/kg", "mg/kg/h", "mg/kg/day", "mg/mL"))


@dataclass(frozen=True)
class Preparation:
    route: str
    concentration_mg_ml: float | None
    concentration_origin: str | None
    drug_mg: float | None = None  # per bag / syringe / day
    per: str = ""  # what drug_mg covers
    final_volume_ml: float | None = None
    diluent: str | None = None
    priming_ml: float | None = None
    vials: tuple = ()  # (strength mg/mL, mL of drug to draw, mL of diluent, note)
    syringes: tuple = ()  # (label, mg per 24 h, mL per 24 h or None)
    notes: tuple = ()


@dataclass(frozen=True)
class Plan:
    regimen: object
    weight: DosingWeight
    concentration_mg_ml: float | None
    concentration_origin: str | None
    phases: tuple
    days: tuple
    totals: dict
    preparation: Preparation
    findings: tuple = ()
    notes: tuple = field(default_factory=tuple)
    consulted: tuple = ()  # every limit comparison made (for --explain)
    totals_derivation: tuple = ()

    @property
    def blocked(self) -> bool:
        return any(f.severity == "error" for f in self.findings)


def make_plan(regimen, patient, library, *, basis=None, concentration=None, priming_ml=None,
              regimen_findings=()) -> Plan:
    weight = dosing_weight(regimen, patient, basis)
    if concentration is not None:
        conc, origin = concentration.magnitude("mg/mL"), "--concentration"
    elif regimen.preparation and regimen.preparation.concentration is not None:
        conc, origin = regimen.preparation.concentration.magnitude("mg/mL"), "regimen preparation"
    else:
        conc, origin = None, None
    if regimen.route == "topical":
        conc, origin = None, None
    ctx = lim.Context(regimen.drug, regimen.route, regimen.setting, regimen.confirm)
    phases = plan_phases(regimen, weight, conc, hard_rate_ceiling(library, ctx, weight.kg))
    days = calendar(regimen, phases)
    tot_why: list = []
    tot = totals(regimen, phases, days, tot_why)
    # Limit findings are recomputed on the patient's numbers; the regimen's other findings stay.
    findings = [f for f in regimen_findings if not f.rule.startswith("KD-LIM")]
    findings += weight_findings(weight) + ceiling_findings(phases)
    from ketadose.validate import regimen_measures

    fixed = [(m, q, w) for m, q, w, _path in regimen_measures(regimen) if m in REGIMEN_ONLY]
    consulted: list = []
    for measure, qty, what in fixed + plan_measures(regimen, weight, phases, tot, conc):
        findings += lim.check(library, ctx, measure, qty, what, consulted=consulted)
    prep = preparation(regimen, phases, tot, conc, origin, priming_ml)
    return Plan(regimen, weight, conc, origin, tuple(phases), tuple(days), tot, prep,
                tuple(findings), consulted=tuple(consulted), totals_derivation=tuple(tot_why))


# Measures that do not depend on the patient: checked as the regimen states them.
REGIMEN_ONLY = ("continuous_days", "course_days", "strength")


def hard_rate_ceiling(library, ctx, kg) -> float | None:
    """The lowest hard limit on the infusion rate for this patient, in mg/h (None if none)."""
    ceilings = []
    for measure, scale in (("rate", 1.0), ("rate_per_kg", kg)):
        if scale is None:
            continue
        for limit in library.find(ctx.drug, ctx.route, measure):
            _soft, hard, _note, _unv = limit.bounds(ctx.setting)
            if hard is not None and not limit.hard_inclusive:
                ceilings.append(Quantity(hard * scale, parse_unit(
                    limit.unit.replace("/kg", "") if measure == "rate_per_kg" else limit.unit))
                    .magnitude("mg/h"))
    return min(ceilings) if ceilings else None


def plan_measures(regimen, weight, phases, tot, conc):
    """(measure, Quantity, description) of every patient-specific number the limits govern."""
    kg = weight.kg
    out = []
    for p in phases:
        if p.kind in ("infusion", "titration", "escalation") and p.mg_h_max is not None:
            out.append(("rate", Quantity(p.mg_h_max, _MG_H), f"{p.name}: rate"))
            if kg:
                out.append(("rate_per_kg", Quantity(p.mg_h_max / kg, _MG_KG_H),
                            f"{p.name}: rate on {kg:.1f} kg"))
        if p.kind == "bolus" and kg:
            out.append(("bolus_per_kg", Quantity(p.bolus_mg / kg, _MG_KG),
                        f"{p.name}: bolus on {kg:.1f} kg"))
        if p.kind == "oral" and kg:
            out.append(("daily_dose_per_kg", Quantity(p.dose_mg_max / kg, _MG_KG_DAY),
                        f"{p.name}: daily dose on {kg:.1f} kg"))
    if regimen.route == "iv":
        if regimen.pattern == "daily" and tot["max_session_mg"] is not None:
            out.append(("session_dose", Quantity(tot["max_session_mg"], _MG), "session dose"))
        if tot["max_daily_mg"] is not None:
            out.append(("daily_dose", Quantity(tot["max_daily_mg"], _MG), "highest daily dose"))
    if conc is not None and regimen.route in ("iv", "sc"):
        out.append(("concentration", Quantity(conc, _MG_ML), "concentration"))
    return out


def preparation(regimen, phases, tot, conc, origin, priming_ml) -> Preparation:
    notes = []
    if regimen.route in ("iv", "sc") and conc is None:
        notes.append("No concentration given: pump rates and volumes need --concentration "
                     "(or a concentration in the regimen's preparation).")
    if regimen.route == "iv":
        per = "session" if regimen.pattern == "daily" else "24 h (one bag a day)"
        need = tot["max_session_mg"] if regimen.pattern == "daily" else tot["max_daily_mg"]
        prep = regimen.preparation
        if conc is None or need is None:
            return Preparation("iv", conc, origin, need, per, notes=tuple(notes))
        prime = priming_ml or 0.0
        volume = need / conc + prime
        if prep and prep.volume is not None and prep.volume.magnitude("mL") >= volume:
            volume = prep.volume.magnitude("mL")
            notes.append(f"Final volume {volume:g} mL as the regimen prepares it; the pump stops "
                         "when the session dose is given.")
        if priming_ml is None:
            notes.append("Priming volume not included: add your giving set's volume with --priming.")
        drug = volume * conc
        vials = []
        for strength in VIALS_MG_ML:
            if strength < conc:
                continue
            draw = drug / strength
            note = {100.0: "must be diluted before IV use (label 2.1)",
                    10.0: "should not be diluted (Trissel); prefer 50 or 100 mg/mL"}.get(strength, "")
            if strength == conc:
                note = "undiluted"
            vials.append((strength, draw, volume - draw, note))
        notes.append("Use immediately after dilution (label 2.1); do not mix with barbiturates or "
                     "diazepam in the same syringe or bag (precipitate).")
        return Preparation("iv", conc, origin, drug, per, volume,
                           prep.diluent if prep and prep.diluent else "0.9% sodium chloride or 5% glucose",
                           priming_ml, tuple(vials), notes=tuple(notes))
    if regimen.route == "sc":
        syringes = tuple((p.name, p.mg_h_max * 24, p.mg_h_max * 24 / conc if conc else None)
                         for p in phases if p.mg_h_max is not None)
        return Preparation("sc", conc, origin, per="24 h syringe", syringes=syringes,
                           notes=tuple(notes + ["Syringe driver contents per 24 h for each step."]))
    if regimen.route == "oral":
        if conc is None:
            notes.append("Give the oral product strength with --concentration (e.g. the injection "
                         "solution taken by mouth, Blonk 2010) for the volume per dose.")
        return Preparation("oral", conc, origin, notes=tuple(notes))
    return Preparation(regimen.route, None, None, notes=(
        "Topical: strength and applications as the regimen states; the amount per application "
        "must be prescribed where the regimen does not give it.",))

