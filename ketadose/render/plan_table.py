"""The plan as terminal tables: what the nurse programs and the pharmacy prepares."""

from __future__ import annotations

import datetime as dt
import math
import re

from ketadose import __version__
from ketadose.describe import hours_text
from ketadose.render.marks import caption, short
from ketadose.render.numbers import machine, mg_range, number, signed
from ketadose.render.phase_text import clock as _clock
from ketadose.render.phase_text import per_intake_text, starts_text
from ketadose.render.screen import render_screen
from ketadose.render.table import SEVERITY_STYLE, console, line, styled, table
from ketadose.units import Quantity, parse_unit


def render_plan(result, stream) -> None:
    """The plan of a PlanResult (ketadose/planning.py) as terminal tables on ``stream``."""
    out = console(file=stream)
    plan, start = result.plan, result.options.start
    _header(out, result)
    r = plan.regimen
    rows = [_phase_row(p, start) for p in plan.phases]
    out.print(table("Session" if r.pattern == "daily" else "Infusion (one continuous session)",
                    [("phase", {"ratio": 1}), ("as written", {"ratio": 1}), ("mg/h", {"ratio": 1}),
                     ("pump", {"ratio": 1}), ("duration", {"no_wrap": True}), "dose",
                     ("starts", {"no_wrap": True}), ("criteria", {"ratio": 2})], rows,
                    caption([(f"phase '{p.name}'", p.unverified) for p in plan.phases])))
    _titration_steps(out, plan, start)
    _calendar(out, plan, start)
    _preparation(out, plan.preparation, r.drug)
    _sections(out, r)
    rt = r.retreatment
    interval = str(rt.minimum_interval) if rt.minimum_interval else None
    out.print(line(("Retreatment:", "bold"), " minimum interval "
                   f"{interval or 'not set by any guideline (clinician decides)'}; "
                   f"relief lasted: {rt.relief_lasted}"))
    if rt.liver_warning:
        out.print(line(("Liver:", "yellow"), f" {rt.liver_warning}"))
    if plan.findings:
        out.print(table("Limits and dosing notes", [("rule", {"no_wrap": True}),
                                                    ("severity", {"no_wrap": True}), "message"],
                        [(f.rule, styled(f.severity, SEVERITY_STYLE.get(f.severity, "")),
                          f.message + (f" [UNVERIFIED: {f.unverified}]" if f.unverified else ""))
                         for f in plan.findings]))



def render_refused_screen(result, stream) -> None:
    """A plan the screen refused (a contraindication without an override): the screen alone."""
    render_screen(result.screen, result.regimen, console(file=stream))


def _header(out, result) -> None:
    """Title, regimen identity, dosing weight, concentration and the screen."""
    plan = result.plan
    r, w = plan.regimen, plan.weight
    out.print(styled(r.title, "bold"))
    out.print(f"{r.id} | {r.drug} | {r.route} | {r.setting} | sha256 {result.src.sha256[:16]}… "
              f"| ketadose {__version__}, limits {result.versions.limits}")
    if w.kg is not None:
        extra = ", ".join(x for x in (
            f"actual {number(w.actual_kg)} kg",
            f"ideal {number(w.ideal_kg)} kg" if w.ideal_kg else None,
            f"adjusted {number(w.adjusted_kg)} kg" if w.adjusted_kg else None,
            f"BMI {number(w.bmi)}" if w.bmi else None) if x)
        out.print(line("Dosing weight ", (f"{number(w.kg)} kg", "bold"), f" ({w.basis}, from {w.origin}; {extra})"))
    else:
        out.print("Dosing weight: not needed (fixed doses)")
    conc = plan.concentration_mg_ml
    out.print(f"Concentration: {number(conc, 3, 'mg/mL') + ' (from ' + plan.concentration_origin + ')' if conc else 'not given (no pump rates; use --concentration)'}")
    render_screen(result.screen, r, out)


def _phase_row(p, start) -> tuple:
    """One row of the session table: what the nurse programs for this phase."""
    rate = "-"
    if p.mg_h is not None and p.bolus is None:  # a bolus's rate is its push: shown as a dose
        rate = number(p.mg_h, 2, "mg/h")
        if p.mg_h_max is not None and abs(p.mg_h_max - p.mg_h) > 1e-9:
            rate += f" -> {number(p.mg_h_max, 2, 'mg/h')}"
        if p.cap_binds:
            rate += " (capped)"
        unit = re.search(r"(mcg|mg)/kg/(min|h)", p.written)
        if unit and p.per_kg_h is not None:
            eff = Quantity(p.per_kg_h, parse_unit("mg/kg/h")).magnitude(unit.group(0))
            rate += f" = {eff:.3g} {unit.group(0)}"
    pump = _pump_text(p)
    dose = _dose_text(p)
    when = starts_text(p, start)
    return (line(p.name, (" (conditional)", "yellow") if p.conditional else ""),
            line(p.written, (short(p.unverified), "bold")), rate, pump,
            hours_text(p.duration_h) if p.duration_h else "per day", dose, when, p.criteria or "")


def _dose_text(p) -> str:
    """The dose column, from the phase's own part: a bolus and its volume, intakes a day, a
    titration's range; else the phase's dose."""
    if p.bolus is not None:
        b = p.bolus
        return f"{number(b.mg, 1, 'mg')}" + (f" = {number(b.ml, 2, 'mL')}" if b.ml else "")
    if p.intakes is not None:
        i = p.intakes
        per = per_intake_text(i) or (i.amount or "amount not given")
        return f"{per} x {i.times_per_day}/day" + (f" ({number(i.ml_per_dose, 2, 'mL')} each)"
                                                   if i.ml_per_dose else "")
    if p.titration is not None and p.dose_mg_min is not None and p.dose_mg_max is not None:
        return f"{number(p.dose_mg_min, 0, 'mg')}-{number(p.dose_mg_max, 0, 'mg')}"
    return number(p.dose_mg_max, 1, "mg")


def _pump_text(p) -> str:
    pump = "-"
    if p.pump is not None and p.bolus is None:
        pump = f"{p.pump.ml_h:.1f} mL/h = {number(p.pump.mg_h_delivered, 3, 'mg/h')} delivered"
        if abs(p.pump.error_mg_h) > 1e-9:
            pump += f" ({signed(p.pump.error_pct)}%)"
        if p.pump.rounded_down:
            pump += " rounded down: never above the rate asked"
    return pump


def _titration_steps(out, plan, start) -> None:
    for p in plan.phases:
        if p.steps:
            out.print(table(f"Titration steps: {p.name}{short(p.unverified)}", [
                ("step", {"no_wrap": True}), "rate as written", "mg/h", "pump", "time"],
                [(str(i + 1), s.written, number(s.mg_h, 2, "mg/h"),
                  f"{s.pump.ml_h:.1f} mL/h = {number(s.pump.mg_h_delivered, 3, 'mg/h')} "
                  f"({signed(s.pump.error_pct)}%)" if s.pump else "-",
                  (_clock(start, p.start_h + s.t_h) or f"+{number(s.t_h, 1, 'h')}")
                  if not math.isnan(s.t_h) else "when the titration criteria allow")
                 for i, s in enumerate(p.steps)]))

def _calendar(out, plan, start) -> None:
    cal_rows = [(line(str(d.day), (" (conditional)", "yellow") if d.conditional else ""),
                 (start.date() + dt.timedelta(days=d.day - 1)).isoformat() if start else "",
                 mg_range(d.dose_mg_min, d.dose_mg_max), mg_range(d.cumulative_mg_min, d.cumulative_mg_max))
                for d in plan.days]
    t = plan.totals
    out.print(table("Course calendar (minimum-maximum where titration or escalation may vary)",
                    ["day", "date", "dose that day", "cumulative"], cal_rows,
                    f"Course total {mg_range(t['course_mg_min'], t['course_mg_max'])}; "
                    f"highest session {number(t['max_session_mg'], 1, 'mg')}, "
                    f"highest day {number(t['max_daily_mg'], 1, 'mg')}"))

def _preparation(out, prep, drug) -> None:
    """What the pharmacy prepares: vials, syringes, notes (the numbers as the JSON gives them)."""
    if prep.vials:
        out.print(table(f"Preparation: {number(machine(prep.drug_mg), 1, 'mg')} in "
                        f"{number(machine(prep.final_volume_ml), 1, 'mL')} {prep.diluent} at "
                        f"{number(prep.concentration_mg_ml, 3, 'mg/mL')}, a bag for "
                        f"{prep.per} (dose {number(machine(prep.need_mg), 1, 'mg')}"
                        + (f"; discard {number(machine(prep.discard_ml), 1, 'mL')} = "
                           f"{number(machine(prep.discard_mg), 1, 'mg')} before hanging"
                           if machine(prep.discard_ml) else "") + ")",
                        ["vial", "draw", "diluent", "note"],
                        [(f"{strength:g} mg/mL", number(machine(draw), 2, "mL"),
                          number(machine(diluent), 1, "mL"), note)
                         for strength, draw, diluent, note in prep.vials],
                        "Esketamine products (Ketanest S 5 and 25 mg/mL; UNVERIFIED strengths)"
                        if drug == "esketamine" else
                        "Vial strengths 10, 50 and 100 mg/mL (docs/evidence.md C3)"))
    if prep.syringes:
        out.print(table("Syringe driver, contents per 24 h", ["step", "mg per 24 h", "mL"],
                        [(step, number(machine(mg), 1, "mg"), number(machine(ml), 2, "mL"))
                         for step, mg, ml in prep.syringes]))
    for note in prep.notes:
        out.print(styled(f"- {note}", "dim"))

def _sections(out, r) -> None:
    """Adjuncts, monitoring and stop rules, with their UNVERIFIED marks."""
    if r.adjuncts:
        out.print(table("Adjuncts", [("drug", {"no_wrap": True}), ("dose", {"no_wrap": True}),
                                     ("route", {"no_wrap": True}), "timing", "source"],
                        [(a.name, str(a.dose) + short(a.unverified, "dose"),
                          a.route + short(a.unverified, "route"),
                          a.timing + short(a.unverified, "timing", *[
                              k for k in a.unverified if k not in ("dose", "route", "timing")]),
                          a.source) for a in r.adjuncts],
                        caption([(f"adjunct '{a.name}'", a.unverified) for a in r.adjuncts])))
    out.print(table("Monitoring", [("what", {"ratio": 2}), "when", "source"],
                    [(m.what + short(m.unverified, *[k for k in m.unverified if k != "when"]),
                      m.when + short(m.unverified, "when"), m.source)
                     for m in r.monitoring],
                    caption([(f"monitoring '{m.what}'", m.unverified) for m in r.monitoring])))
    out.print(table("Stop rules", ["when", "action", "source"],
                    [(s.when + short(s.unverified, *[k for k in s.unverified if k != "action"]),
                      s.action + short(s.unverified, "action"), s.source)
                     for s in r.stop_rules],
                    caption([(f"stop rule '{s.when}'", s.unverified) for s in r.stop_rules])))
