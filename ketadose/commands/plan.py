"""`ketadose plan`: screen, calculate, check limits, render."""

from __future__ import annotations

import datetime as dt

from ketadose import __version__
from ketadose.commands.check import override_reason, screen_for
from ketadose.io.library import limit_library
from ketadose.io.patients import load_patient
from ketadose.io.regimens import load_regimen
from ketadose.plan import make_plan
from ketadose.render.data import to_csv, to_json, to_yaml
from ketadose.render.diag import emit, note
from ketadose.render.documents.screen import screen_data
from ketadose.render.screen import render_screen

CSV_COLUMNS = ("day", "session", "phase", "kind", "conditional", "rate_mg_per_h",
               "rate_mg_per_h_max", "rate_per_kg_per_h", "rate_ml_per_h", "rounding_error_mg_per_h",
               "duration_h", "dose_mg", "cap_binds", "criteria", "rate_mg_per_h_delivered",
               "rounding_error_pct", "findings", "unverified", "regimen_unverified")


def _r(x, nd=4):
    """Round for machine output: enough digits to recompute, no float noise (0.30000000000000004).
    None and NaN (an untimed titration step) become null."""
    if x is None or x != x:
        return None
    return round(x, nd)


def phase_data(p) -> dict:
    return {
        "name": p.name, "kind": p.kind, "written": p.written, "start_h": _r(p.start_h),
        "conditional": p.conditional, "criteria": p.criteria,
        "rate_mg_per_h": _r(p.mg_h), "rate_mg_per_h_max": _r(p.mg_h_max),
        "rate_mg_per_kg_per_h": _r(p.per_kg_h), "cap_mg_per_h": _r(p.cap_mg_h),
        "cap_binds": p.cap_binds,
        "rate_ml_per_h": p.pump.ml_h if p.pump else None,
        "rate_ml_per_h_exact": _r(p.pump.ml_h_exact) if p.pump else None,
        "rounding_error_mg_per_h": _r(p.pump.error_mg_h) if p.pump else None,
        "rate_mg_per_h_delivered": _r(p.pump.mg_h_delivered) if p.pump else None,
        "rounding_error_pct": _r(p.pump.error_pct, 2) if p.pump else None,
        "rounded_down": p.pump.rounded_down if p.pump else None,
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


def plan_data(plan, src, screen, patient, start, explain=None) -> dict:
    """The plan as the documented JSON contract; ``explain`` (inputs and their origins) adds
    the derivations."""
    from ketadose.render.explain import cards, rules_evaluated, why_data

    r, w = plan.regimen, plan.weight
    phases = [phase_data(p) for p in plan.phases]
    if explain is not None:
        for item, p in zip(phases, plan.phases):
            item["derivation"] = why_data(p.derivation)
    if r.pattern == "daily":
        sessions = [{"day": d.day, "index": 1, "conditional": False, "phases": phases,
                     "dose_mg": _r(d.dose_mg_max)} for d in plan.days]
    else:
        sessions = [{"day": 1, "index": 1, "conditional": False, "phases": phases,
                     "dose_mg": _r(plan.totals["max_session_mg"])}]
    prep = plan.preparation
    out = {
        "format_version": 1,
        "ketadose_version": __version__,
        "limits_version": limit_library().version,
        "regimen": {"id": r.id, "title": r.title, "sha256": src.sha256, "file": src.name,
                    "drug": r.drug, "route": r.route, "setting": r.setting},
        "patient": {"id": patient.id, "dosing_weight_kg": _r(w.kg, 2), "weight_basis": w.basis,
                    "weight_basis_from": w.origin, "actual_weight_kg": _r(w.actual_kg, 2),
                    "ideal_weight_kg": _r(w.ideal_kg, 2), "adjusted_weight_kg": _r(w.adjusted_kg, 2),
                    "bmi": _r(w.bmi, 1), "height_cm": _r(w.height_cm, 1)},
        "start": start.isoformat() if start else None,
        "concentration_mg_per_ml": plan.concentration_mg_ml,
        "concentration_from": plan.concentration_origin,
        "screen": screen_data(screen),
        "sessions": sessions,
        "calendar": [{"day": d.day, "date": (start.date() + dt.timedelta(days=d.day - 1)).isoformat()
                      if start else None, "conditional": d.conditional,
                      "dose_mg_min": _r(d.dose_mg_min), "dose_mg_max": _r(d.dose_mg_max),
                      "cumulative_mg_min": _r(d.cumulative_mg_min),
                      "cumulative_mg_max": _r(d.cumulative_mg_max)} for d in plan.days],
        "totals": {k: _r(v) for k, v in plan.totals.items()},
        "preparation": {
            "route": prep.route, "concentration_mg_per_ml": prep.concentration_mg_ml,
            "drug_mg": _r(prep.drug_mg), "per": prep.per, "final_volume_ml": _r(prep.final_volume_ml),
            "need_mg": _r(prep.need_mg), "discard_mg": _r(prep.discard_mg),
            "discard_ml": _r(prep.discard_ml),
            "diluent": prep.diluent, "priming_ml": prep.priming_ml,
            "vials": [{"strength_mg_per_ml": s, "draw_ml": _r(d), "diluent_ml": _r(dil), "note": n}
                      for s, d, dil, n in prep.vials],
            "syringes_24h": [{"step": n, "mg": _r(mg), "ml": _r(ml)} for n, mg, ml in prep.syringes],
            "notes": list(prep.notes)},
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
        # every number the template marks UNVERIFIED (the same list `show` prints)
        "unverified": [{"where": w, "field": k, "why": v} for w, k, v in r.unverified()],
        "warnings": [f.as_dict() | {"title": f.title} for f in plan.findings],
        "cards": cards(list(screen.findings) + list(plan.findings)),
        "blocked": plan.blocked or screen.blocking,
        "override": screen.override,
    }
    if explain is not None:
        out["patient"]["derivation"] = why_data(w.derivation)
        out["totals_derivation"] = why_data(plan.totals_derivation)
        out["explain"] = {"inputs": explain, "limits_consulted": list(plan.consulted),
                          "rules_evaluated": rules_evaluated(screen)}
    return out


def csv_rows(data) -> list:
    """One row per phase of each session; every row carries the plan's findings (rule and
    severity), so a script reading the CSV alone still sees them."""
    rows = []
    from ketadose.render.marks import text as marks_text

    findings = "; ".join(f"{w['rule']} {w['severity']}" for w in data["warnings"])
    others = "; ".join(f"{u['where']} {u['field']}: {u['why']}" for u in data.get("unverified", ())
                       if not u["where"].startswith("phase "))
    for s in data["sessions"]:
        for p in s["phases"]:
            rows.append({"day": s["day"], "session": s["index"], "phase": p["name"], "kind": p["kind"],
                         "conditional": p["conditional"], "rate_mg_per_h": p["rate_mg_per_h"],
                         "rate_mg_per_h_max": p["rate_mg_per_h_max"],
                         "rate_per_kg_per_h": p["rate_mg_per_kg_per_h"],
                         "rate_ml_per_h": p["rate_ml_per_h"],
                         "rounding_error_mg_per_h": p["rounding_error_mg_per_h"],
                         "duration_h": p["duration_h"], "dose_mg": p["dose_mg"],
                         "cap_binds": p["cap_binds"], "criteria": p["criteria"],
                         "rate_mg_per_h_delivered": p["rate_mg_per_h_delivered"],
                         "rounding_error_pct": p["rounding_error_pct"], "findings": findings,
                         # the phase's own UNVERIFIED numbers, then the rest of the regimen's
                         "unverified": marks_text(p["unverified"]), "regimen_unverified": others})
    return rows


def plan_options_record(opts) -> dict:
    """Every input that changes a plan's output, as text (recorded in the audit so that
    `verify` recomputes exactly this): the options, the screening date (today when --start is
    not given), --explain, the format and which patient keys came from flags."""
    from ketadose.units import format_quantity

    conc = opts.get("concentration")
    start = opts.get("start")
    return {"concentration": format_quantity(conc) if conc is not None else None,
            "weight_basis": opts.get("weight_basis"), "start": start.isoformat() if start else None,
            "priming": opts.get("priming"), "override": opts.get("override"),
            "date": opts["date"].isoformat() if opts.get("date") else None,
            "explain": bool(opts.get("explain")), "format": opts.get("format"),
            "patient_from_flags": sorted(opts.get("from_flags") or ())}


def audit_for(src, patient_data, opts) -> dict:
    from ketadose.audit import audit_block
    from ketadose.io.library import thresholds, vocabulary

    return audit_block(src, patient_data, {"command": "plan", **plan_options_record(opts)},
                       limit_library().version, vocabulary().version, opts.get("reproducible", False),
                       thresholds_version=thresholds().version)


def _chart(plan):
    """The PK chart as inline SVG when the regimen can be simulated (numpy is loaded only here)."""
    try:
        from ketadose.pk.chart import svg_chart
        from ketadose.pk.simulate import simulate
    except ImportError:
        return None
    try:
        res = simulate(plan, None, 10.0)
    except Exception:
        return None
    return svg_chart(res.t_h, res.ketamine, f"{res.model.name}, {plan.weight.actual_kg:g} kg "
                     "(the maximum case; bands are a synthesis, not a source)")


def plan_for(regimen, patient, opts, findings):
    """The plan with the command-line options that change it (single runs and batches)."""
    return make_plan(regimen, patient, limit_library(), basis=opts.get("weight_basis"),
                     concentration=opts.get("concentration"), priming_ml=opts.get("priming"),
                     regimen_findings=findings, override=opts.get("override"))


def plan_document(src, regimen, findings, patient, patient_data, opts):
    """The plan for one patient as (document, screen, plan, exit code), computed by the core
    and shared by `plan` and `verify`. ``plan`` is None when the screen blocks it; the document
    is what --format json/yaml write."""
    start = opts.get("start")
    today = opts.get("date") or (start.date() if start else dt.date.today())
    opts = {**opts, "date": today}
    screen = screen_for(patient, regimen, today, opts.get("override"))
    if screen.blocking:
        # A contraindicated patient gets no plan unless a clinician records why (--override).
        data = {"ketadose_version": __version__, "regimen": {"id": regimen.id, "sha256": src.sha256},
                "screen": screen_data(screen), "blocked": True, "sessions": None,
                "audit": audit_for(src, patient_data, opts)}
        return data, screen, None, 1
    plan = plan_for(regimen, patient, opts, findings)
    explain = None
    if opts.get("explain"):
        from ketadose.render.explain import inputs_used

        explain = inputs_used(patient_data, set(opts.get("from_flags") or ()))
    data = plan_data(plan, src, screen, patient, start, explain)
    data["audit"] = audit_for(src, patient_data, opts)
    if plan.blocked:
        blocked = {k: data[k] for k in ("ketadose_version", "regimen", "patient", "screen",
                                        "warnings", "blocked", "audit")}
        blocked["sessions"] = None
        return blocked, screen, plan, 1
    return data, screen, plan, 0


def run_plan(dirs, ref, patient_path, flags, opts, fmt) -> int:
    from ketadose.io.patients import flags_to_data

    opts = {**opts, "override": override_reason(opts.get("override"))}
    src, regimen, findings = load_regimen(ref, dirs)
    start = opts["start"]
    patient, patient_data = load_patient(patient_path, flags,
                                         start.date() if start else dt.date.today())
    opts = {**opts, "format": fmt, "from_flags": set(flags_to_data(flags))}
    if fmt == "fhir":
        from ketadose.render.fhir import check_fhir_id

        check_fhir_id(patient.id)
    data, screen, plan, code = plan_document(src, regimen, findings, patient, patient_data, opts)
    if plan is None:
        if fmt in ("json", "yaml"):
            emit(to_yaml(data) if fmt == "yaml" else to_json(data))
        elif fmt == "table":
            render_screen(screen, regimen)
        if fmt not in ("json", "yaml"):
            for f in screen.findings:
                if f.severity in ("absolute", "relative") and fmt != "table":
                    note(f"ketadose: {f.severity} contraindication {f.rule}: {f.message}")
            if screen.absolute:
                note("No plan: an absolute contraindication; no override can lift it.")
            else:
                note("No plan: the patient is contraindicated. A clinician may proceed only with "
                     "--override \"reason\".")
        return 1
    if code:
        if fmt in ("json", "yaml"):
            emit(to_yaml(data) if fmt == "yaml" else to_json(data))
        for f in plan.findings:
            if f.severity == "error":
                note(f"ketadose: refused {f.rule}: {f.message}")
        note("No plan: the delivered plan exceeds a hard limit (no override) or a soft limit "
             "that is not confirmed (regimen confirm: or --override \"reason\").")
        return 1
    if fmt == "json":
        emit(to_json(data))
    elif fmt == "yaml":
        emit(to_yaml(data))
    elif fmt == "csv":
        emit(to_csv(csv_rows(data), CSV_COLUMNS))
    elif fmt == "fhir":
        from ketadose.render.fhir import bundle

        emit(to_json(bundle(plan, data, start)))
    elif fmt == "html":
        from ketadose.render.html import page

        emit(page(plan, data, screen, start, _chart(plan)))
    else:
        from ketadose.render.plan_table import render_plan

        render_plan(plan, data, screen, start)
        if opts.get("explain"):
            from ketadose.render.explain import render_plan_explain
            from ketadose.render.table import console

            render_plan_explain(console(), plan, data, screen, data["explain"]["inputs"])
    return 0
