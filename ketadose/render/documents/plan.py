"""The plan as the documented JSON contract (`plan --format json|yaml`, a batch line's `plan`,
what `verify` recomputes): one pure function of a PlanResult (ketadose/planning.py).

The document is a contract (docs/output-format.md, `ketadose schema plan`): add fields, never
rename or remove them without a format version bump.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ketadose import __version__
from ketadose.render.documents.screen import screen_data
from ketadose.render.numbers import machine as _r


def phase_data(p) -> dict:
    pump = p.pump
    return {
        "name": p.name, "kind": p.kind, "written": p.written, "start_h": _r(p.start_h),
        "conditional": p.conditional, "criteria": p.criteria,
        "rate_mg_per_h": _r(p.mg_h), "rate_mg_per_h_max": _r(p.mg_h_max),
        "rate_mg_per_kg_per_h": _r(p.per_kg_h), "cap_mg_per_h": _r(p.cap_mg_h),
        "cap_binds": p.cap_binds,
        "rate_ml_per_h": pump.ml_h if pump else None,
        "rate_ml_per_h_exact": _r(pump.ml_h_exact) if pump else None,
        "rounding_error_mg_per_h": _r(pump.error_mg_h) if pump else None,
        "rate_mg_per_h_delivered": _r(pump.mg_h_delivered) if pump else None,
        "rounding_error_pct": _r(pump.error_pct, 2) if pump else None,
        "rounded_down": pump.rounded_down if pump else None,
        "duration_h": _r(p.duration_h), "dose_mg": _r(p.dose_mg_max), "dose_mg_min": _r(p.dose_mg_min),
        "bolus_mg": _r(p.bolus_mg), "bolus_ml": _r(p.bolus_ml),
        "per_dose_mg": _r(p.per_dose_mg), "times_per_day": p.times_per_day,
        "ml_per_dose": _r(p.ml_per_dose), "strength": p.strength, "amount": p.amount,
        "per_dose_mg_max": _r(p.per_dose_mg_max),
        "steps": [{"t_h": _r(s.t_h), "rate": s.written, "rate_mg_per_h": _r(s.mg_h),
                   "rate_ml_per_h": s.pump.ml_h if s.pump else None,
                   "rate_mg_per_h_delivered": _r(s.pump.mg_h_delivered) if s.pump else None,
                   "rounding_error_pct": _r(s.pump.error_pct, 2) if s.pump else None}
                  for s in p.steps],
        "source": p.source, "unverified": p.unverified,
    }


def _sessions(plan, phases: list) -> list:
    if plan.regimen.pattern == "daily":
        return [{"day": d.day, "index": 1, "conditional": False, "phases": phases,
                 "dose_mg": _r(d.dose_mg_max)} for d in plan.days]
    return [{"day": 1, "index": 1, "conditional": False, "phases": phases,
             "dose_mg": _r(plan.totals["max_session_mg"])}]


def _patient(result) -> dict:
    return patient_section(result.patient.id, result.plan.weight)


def patient_section(pid, w) -> dict:
    """The plan's ``patient``: the id and the weights (``w``: dosing.DosingWeight)."""
    return {"id": pid, "dosing_weight_kg": _r(w.kg, 2), "weight_basis": w.basis,
            "weight_basis_from": w.origin, "actual_weight_kg": _r(w.actual_kg, 2),
            "ideal_weight_kg": _r(w.ideal_kg, 2), "adjusted_weight_kg": _r(w.adjusted_kg, 2),
            "bmi": _r(w.bmi, 1), "height_cm": _r(w.height_cm, 1)}


def _calendar(plan, start) -> list:
    first = start.date() if start else None
    return [{"day": d.day, "date": (first + dt.timedelta(days=d.day - 1)).isoformat()
             if first else None, "conditional": d.conditional,
             "dose_mg_min": _r(d.dose_mg_min), "dose_mg_max": _r(d.dose_mg_max),
             "cumulative_mg_min": _r(d.cumulative_mg_min),
             "cumulative_mg_max": _r(d.cumulative_mg_max)} for d in plan.days]


def preparation_data(prep) -> dict:
    return {
        "route": prep.route, "concentration_mg_per_ml": prep.concentration_mg_ml,
        "drug_mg": _r(prep.drug_mg), "per": prep.per, "final_volume_ml": _r(prep.final_volume_ml),
        "need_mg": _r(prep.need_mg), "discard_mg": _r(prep.discard_mg),
        "discard_ml": _r(prep.discard_ml),
        "diluent": prep.diluent, "priming_ml": prep.priming_ml,
        "vials": [{"strength_mg_per_ml": s, "draw_ml": _r(d), "diluent_ml": _r(dil), "note": n}
                  for s, d, dil, n in prep.vials],
        "syringes_24h": [{"step": n, "mg": _r(mg), "ml": _r(ml)} for n, mg, ml in prep.syringes],
        "notes": list(prep.notes)}


def _regimen_sections(r) -> dict:
    """What comes from the regimen alone (the same for every patient: a batch encodes it once)."""
    return {
        "adjuncts": [{"name": a.name, "dose": str(a.dose), "route": a.route, "timing": a.timing,
                      "source": a.source, "unverified": dict(a.unverified)} for a in r.adjuncts],
        "monitoring": [{"what": m.what, "when": m.when, "source": m.source,
                        "unverified": dict(m.unverified)} for m in r.monitoring],
        "stop_rules": [{"when": s.when, "action": s.action, "source": s.source,
                        "unverified": dict(s.unverified)} for s in r.stop_rules],
        "retreatment": {"minimum_interval": str(r.retreatment.minimum_interval)
                        if r.retreatment.minimum_interval else None,
                        "relief_lasted": r.retreatment.relief_lasted,
                        "liver_warning": r.retreatment.liver_warning,
                        "source": r.retreatment.source},
        "confirmed_limits": r.confirm,
    }


_constant_cache: dict = {}


def _regimen_constant(r) -> tuple:
    """(the regimen's own sections, its UNVERIFIED list), made once per regimen object: the
    same for every patient of a batch. Shared between documents, which no renderer changes."""
    got = _constant_cache.get(id(r))
    if got is None or got[0] is not r:
        if len(_constant_cache) >= 8:
            _constant_cache.clear()
        got = _constant_cache[id(r)] = (r, _regimen_sections(r), [
            {"where": w, "field": k, "why": v} for w, k, v in r.unverified()])
    return got[1], got[2]


# What dosing_sections reads of a plan (a batch remembers its sections by the dosing they come
# from, and runs it on a plan with no other field: commands/plan_lines.py).
DOSING_SECTIONS_READS = ("regimen", "phases", "days", "totals", "preparation")


def dosing_sections(plan, start, phases: list | None = None) -> dict:
    """The sessions, calendar, totals and preparation: what comes from the plan's dosing (and
    --start) alone. ``phases``: the phases' data when the caller has made them."""
    if phases is None:
        phases = [phase_data(p) for p in plan.phases]
    return {"sessions": _sessions(plan, phases), "calendar": _calendar(plan, start),
            "totals": {k: _r(v) for k, v in plan.totals.items()},
            "preparation": preparation_data(plan.preparation)}


def regimen_section(r, src) -> dict:
    """The plan's ``regimen``: what it is and which file (by its sha256)."""
    return {"id": r.id, "title": r.title, "sha256": src.sha256, "file": src.name,
            "drug": r.drug, "route": r.route, "setting": r.setting}


def regimen_constant(r, src) -> dict:
    """The plan's sections that come from the regimen (and its file) alone, in a batch line's
    order, with ``unverified``: the same for every patient of a batch."""
    sections, unverified = _regimen_constant(r)
    return {"unverified": unverified, "regimen": regimen_section(r, src), **sections}


def warning_data(f) -> dict:
    """One finding of the plan's ``warnings``."""
    return f.as_dict() | {"title": f.title}


def plan_body(result, explain: bool = False) -> dict:
    """The computed plan as the contract (without the audit); ``explain`` adds the derivations,
    the inputs and their origins, the limits consulted and the rules evaluated."""
    from ketadose.render.explain import cards, inputs_used, rules_evaluated, why_data

    plan, screen, src, start = result.plan, result.screen, result.src, result.options.start
    r = plan.regimen
    phases = [phase_data(p) for p in plan.phases]
    if explain:
        for item, p in zip(phases, plan.phases):
            item["derivation"] = why_data(p.derivation)
    dosing = dosing_sections(plan, start, phases)
    out: dict[str, Any] = {
        "format_version": 1,
        "ketadose_version": __version__,
        "limits_version": result.versions.limits,
        "regimen": regimen_section(r, src),
        "patient": _patient(result),
        "start": start.isoformat() if start else None,
        "concentration_mg_per_ml": plan.concentration_mg_ml,
        "concentration_from": plan.concentration_origin,
        "screen": screen_data(screen),
        **dosing,
        **_regimen_constant(r)[0],
        # every number the template marks UNVERIFIED (the same list `show` prints)
        "unverified": _regimen_constant(r)[1],
        "warnings": [warning_data(f) for f in plan.findings],
        "cards": cards(list(screen.findings) + list(plan.findings)),
        "blocked": plan.blocked or screen.blocking,
        "override": screen.override,
    }
    if explain:
        out["patient"]["derivation"] = why_data(plan.weight.derivation)
        out["totals_derivation"] = why_data(plan.totals_derivation)
        out["explain"] = {"inputs": inputs_used(result.patient_data, result.options.from_flags),
                          "limits_consulted": list(plan.consulted),
                          "rules_evaluated": rules_evaluated(screen)}
    return out


def blocking(result) -> list:
    """The findings that block ``result``'s plan: the screen's contraindications (no plan was
    made), or the safety gate's refusals of the plan it made."""
    from ketadose.screen import BLOCKING

    if result.screen_blocked:
        return [f for f in result.screen.findings if f.severity in BLOCKING]
    return [f for f in result.plan.findings if f.severity == "error"]


def blocked_reason(result) -> str:
    """Why a blocked ``result`` has no plan, in one sentence (stderr, and each format's own
    way of saying that the plan is blocked)."""
    if not result.screen_blocked:
        return ("No plan: the delivered plan exceeds a hard limit (no override) or a soft limit "
                "that is not confirmed (regimen confirm: or --override \"reason\").")
    if result.screen.absolute:
        return "No plan: an absolute contraindication; no override can lift it."
    return ("No plan: the patient is contraindicated. A clinician may proceed only with "
            "--override \"reason\".")


def document(result) -> dict:
    """The whole `plan --format json|yaml` document: the plan with its audit; when the screen
    blocks, the screen and no sessions; when the gate refuses, the findings and no sessions."""
    if result.screen_blocked:
        return {"ketadose_version": __version__,
                "regimen": {"id": result.regimen.id, "sha256": result.src.sha256},
                "screen": screen_data(result.screen), "blocked": True, "sessions": None,
                "audit": result.audit}
    data = plan_body(result, result.options.explain)
    data["audit"] = result.audit
    if result.plan.blocked:
        blocked = {k: data[k] for k in ("ketadose_version", "regimen", "patient", "screen",
                                        "warnings", "blocked", "audit")}
        blocked["sessions"] = None
        return blocked
    return data


def batch_record(result) -> dict:
    """A batch line's result for one patient (after its `line` and `id`): the exit code, and
    the plan, or what blocked it."""
    if result.screen_blocked:
        return {"exit": 1, "blocked": True, "screen": screen_data(result.screen), "plan": None}
    data = plan_body(result)
    if result.plan.blocked:
        return {"exit": 1, "blocked": True, "screen": data["screen"], "plan": None,
                "warnings": data["warnings"]}
    return {"exit": 0, "blocked": False, "plan": batch_order(data)}


# A batch line's plan lists its keys in this order (the order batch lines have always had): the
# patient's own sections as in the document, the sessions (each with its phases last), then the
# sections that come from the regimen alone (the same for every patient: a batch encodes them
# once).
REGIMEN_SECTIONS = ("regimen", "adjuncts", "monitoring", "stop_rules", "retreatment",
                    "confirmed_limits")


def batch_order(data: dict) -> dict:
    """The plan document's keys in a batch line's order (the same keys and values)."""
    last = (("sessions",) if data.get("sessions") else ()) + REGIMEN_SECTIONS
    out = {k: v for k, v in data.items() if k not in last}
    out.update((k, data[k]) for k in last if k in data)
    if data.get("sessions"):
        out["sessions"] = [{**{k: v for k, v in s.items() if k != "phases"}, "phases": s["phases"]}
                           for s in data["sessions"]]
    return out
