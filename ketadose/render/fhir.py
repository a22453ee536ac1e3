"""FHIR R4 export of a plan: a Bundle (collection) of MedicationRequest resources."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from ketadose.dosing import given_mg_h
from ketadose.render.marks import caption, short
from ketadose.render.numbers import machine

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
# SNOMED CT route of administration codes
ROUTES = {"iv": ("47625008", "Intravenous route"), "sc": ("34206005", "Subcutaneous route"),
          "oral": ("26643006", "Oral route"), "topical": ("6064005", "Topical route"),
          "im": ("78421000", "Intramuscular route"), "sublingual": ("37839007", "Sublingual route")}
DRUG_TEXT = {"racemic-ketamine": "ketamine (racemic)", "esketamine": "esketamine (S-ketamine)"}


# FHIR R4 id datatype: https://hl7.org/fhir/R4/datatypes.html#id
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def check_fhir_id(patient_id) -> None:
    """A patient id goes into ``Patient/<id>`` references: it must be a FHIR id, or a value
    such as ``../Practitioner/7`` would point the plan at another resource."""
    from ketadose.errors import KetadoseError
    from ketadose.render.text import quote_token

    if patient_id is not None and not FHIR_ID.fullmatch(str(patient_id)):
        raise KetadoseError(f"patient id {quote_token(patient_id)} is not a FHIR id (1-64 of "
                            "A-Z a-z 0-9 - .); --format fhir needs one")


def _qty(value, unit):
    return {"value": machine(value), "unit": unit, "system": UCUM, "code": unit}


def _asked(asked, delivered):
    """Text that keeps the rate asked visible where pump rounding changes it."""
    if asked is None or abs(delivered - asked) <= 1e-9 * max(1.0, asked):
        return ""
    return f"; asked {asked:.4g} mg/h, delivered {delivered:.4g} mg/h after pump rounding"


def _route(route):
    code, display = ROUTES[route]
    return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": route}


def _timing(plan, start, p, course_days):
    repeat: dict[str, Any] = {}
    if start is not None:
        # FHIR dateTime with a time needs a time zone, which ketadose does not know: dates
        # bound the course and the clock time goes in timeOfDay.
        first = start + dt.timedelta(hours=p.start_h)
        end = start + dt.timedelta(days=course_days - 1)
        repeat["boundsPeriod"] = {"start": first.date().isoformat(), "end": end.date().isoformat()}
        if plan.regimen.pattern == "daily" and not p.times_per_day:
            repeat["timeOfDay"] = [first.strftime("%H:%M:%S")]
    else:
        repeat["boundsDuration"] = {"value": course_days, "unit": "d", "system": UCUM, "code": "d"}
    if plan.regimen.pattern == "daily":
        repeat.update(frequency=p.times_per_day or 1, period=1, periodUnit="d")
    if p.duration_h:
        repeat.update(duration=machine(p.duration_h), durationUnit="h")
    return {"repeat": repeat}


def write_bundle(result, stream) -> None:
    """The plan of a PlanResult as a FHIR R4 Bundle (JSON) on ``stream``."""
    from ketadose.render.data import to_json

    stream.write(to_json(bundle(result)))


def bundle(result) -> dict:
    if result.blocked:
        return _blocked_bundle(result)
    plan, start = result.plan, result.options.start
    r = plan.regimen
    seed = uuid.UUID(int=int(result.src.sha256[:32], 16))
    patient_id = result.patient.id
    check_fhir_id(patient_id)
    subject = {"reference": f"Patient/{patient_id}"} if patient_id else {"display": "the patient"}
    override = result.screen.override
    entries = []

    def add(key, resource):
        rid = str(uuid.uuid5(seed, f"{key}|{patient_id}"))
        resource = {"resourceType": "MedicationRequest", "id": rid, "status": "draft",
                    "intent": "plan", "subject": subject, **resource}
        entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": resource})

    # The safety gate's findings travel with every request, as on every other output.
    findings = [{"text": f"ketadose {f.rule} ({f.severity}): {f.message}"
                 + (f" [UNVERIFIED: {f.unverified}]" if f.unverified else "")}
                for f in plan.findings]
    for i, p in enumerate(plan.phases):
        # An UNVERIFIED number carries its mark beside it here too, and the reason in a note.
        dosage = {"sequence": i + 1, "text": f"{p.name}: {p.written}{short(p.unverified)}",
                  "route": _route(r.route),
                  "timing": _timing(plan, start, p, r.days)}
        # The machine-readable rate is what the pump delivers (issue #13): where pump rounding
        # changes it, the rate asked stays visible in the text.
        if p.titration is not None:
            low = given_mg_h(p.steps[0].pump if p.steps else p.pump, p.mg_h)
            high = given_mg_h(p.steps[-1].pump if p.steps else p.pump, p.mg_h_max)
            dosage["doseAndRate"] = [{"rateRange": {"low": _qty(low, "mg/h"),
                                                    "high": _qty(high, "mg/h")}}]
            dosage["text"] += f"; titrate: {p.criteria}"
            dosage["text"] += _asked(p.mg_h, low) + _asked(p.mg_h_max, high)
        elif p.bolus is not None:
            dosage["doseAndRate"] = [{"doseQuantity": _qty(p.bolus.mg, "mg")}]
        elif p.intakes is not None:
            if p.intakes.strength is None:  # oral: mg per intake (topical: strength, no mg)
                dosage["doseAndRate"] = [{"doseQuantity": _qty(p.intakes.per_dose_mg, "mg")}]
        else:  # a fixed rate (an infusion, an escalation's step)
            rate = given_mg_h(p.pump, p.mg_h_max)
            dosage["doseAndRate"] = [{"rateQuantity": _qty(rate, "mg/h")}]
            dosage["text"] += _asked(p.mg_h_max, rate)
        pump = p.pump if p.bolus is None else None
        if pump is not None:
            top = p.steps[-1].pump if p.steps and p.steps[-1].pump else pump
            dosage["text"] += (f"; pump {pump.ml_h:g} mL/h = {pump.mg_h_delivered:.4g} mg/h delivered"
                               + (f" (top step {top.ml_h:g} mL/h = {top.mg_h_delivered:.4g} mg/h)"
                                  if top is not pump else ""))
        if p.conditional:
            dosage["asNeededCodeableConcept"] = {"text": f"only if: {p.criteria}"}
        add(f"phase{i}", {
            "medicationCodeableConcept": {"text": DRUG_TEXT[r.drug] + (
                f" {p.intakes.strength} topical" if p.intakes and p.intakes.strength else "")},
            "dosageInstruction": [dosage],
            "note": [{"text": f"{r.title}. Source: {p.source}"}]
            + _marks([(f"phase '{p.name}'", p.unverified), ("schedule", r.schedule_unverified)])
            + ([{"text": f"Override recorded: {override}"}] if override else [])
            + findings,
        })
    for j, a in enumerate(r.adjuncts):
        add(f"adjunct{j}", {
            "medicationCodeableConcept": {"text": a.name},
            "dosageInstruction": [{"text": f"{a.dose} {a.route}, {a.timing}{short(a.unverified)}",
                                   "route": _route(a.route) if a.route in ROUTES else {"text": a.route},
                                   "doseAndRate": [{"doseQuantity": _qty(a.dose.magnitude("mg"), "mg")}]}],
            "note": [{"text": f"Adjunct of {r.id}. Source: {a.source}"}]
            + _marks([(f"adjunct '{a.name}'", a.unverified)]),
        })
    return {"resourceType": "Bundle", "id": str(uuid.uuid5(seed, f"bundle|{patient_id}")),
            "type": "collection", "entry": entries}


def _blocked_bundle(result) -> dict:
    """A blocked plan: no MedicationRequest, a DetectedIssue (severity high) for each finding
    that blocks it, each saying that there is no plan and why."""
    from ketadose.render.documents.plan import blocked_reason, blocking

    seed = uuid.UUID(int=int(result.src.sha256[:32], 16))
    patient_id = result.patient.id
    check_fhir_id(patient_id)
    subject = {"reference": f"Patient/{patient_id}"} if patient_id else {"display": "the patient"}
    reason = blocked_reason(result)
    entries = []
    for f in blocking(result):
        rid = str(uuid.uuid5(seed, f"blocked|{f.rule}|{patient_id}"))
        entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": {
            "resourceType": "DetectedIssue", "id": rid, "status": "final",
            "code": {"text": f"ketadose {f.rule} ({f.severity})"}, "severity": "high",
            "patient": subject,
            "detail": f"{f.message}"
                      + (f" [UNVERIFIED: {f.unverified}]" if f.unverified else "")
                      + f" {reason} Regimen {result.regimen.id}. "
                      f"Source: {f.source}"}})
    return {"resourceType": "Bundle", "id": str(uuid.uuid5(seed, f"bundle|{patient_id}")),
            "type": "collection", "entry": entries}


def _marks(items) -> list:
    text = caption(items)
    return [{"text": text}] if text else []
