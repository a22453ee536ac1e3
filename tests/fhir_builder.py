"""Build FHIR R4 Bundles from ketadose patient records, for tests and the bench: the inverse of
io/fhir_in.py, using only codes from the shipped mapping table."""

from __future__ import annotations

import re

LOINC, SNOMED, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
IPS = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
LIVER = {"alt": "1742-6", "ast": "1920-8", "alp": "6768-6", "ggt": "2324-2", "bilirubin": "1975-2"}
RX = {"morphine": "7052", "oxycodone": "7804", "fentanyl": "4337", "methadone": "6813",
      "tramadol": "10689", "codeine": "2670", "midazolam": "6960", "diazepam": "3322"}


def _cc(system, code, display=None, text=None):
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    out = {"coding": [c]}
    if text:
        out["text"] = text
    return out


def _q(text):
    value, unit = re.match(r"^\s*([0-9.]+)\s*(\S+)\s*$", text).groups()
    return float(value), {"kg": "kg", "lb": "[lb_av]", "cm": "cm", "m": "m", "U/L": "U/L",
                          "umol/L": "umol/L"}[unit]


def _quantity(text):
    value, code = _q(text)
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def bundle(record: dict, date: str = "2026-11-20", pid: str | None = None,
           birth: str | None = None, when: str | None = None) -> dict:
    """A collection Bundle for ``record`` (a ketadose patient record) measured on ``date``.

    ``birth`` overrides the birth date (else derived from age so that the age on ``date`` is it).
    """
    pid = pid or record.get("id") or "p1"
    when = when or f"{date}T09:00:00Z"
    subject = {"reference": f"Patient/{pid}"}
    entries = []
    n = [0]

    def add(res):
        n[0] += 1
        res.setdefault("id", f"{res['resourceType'].lower()}-{n[0]}")
        if res["resourceType"] != "Patient":
            res.setdefault("subject" if res["resourceType"] not in ("AllergyIntolerance",)
                           else "patient", subject)
        entries.append({"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{n[0]:012d}",
                        "resource": res})

    patient = {"resourceType": "Patient", "id": pid}
    if record.get("sex"):
        patient["gender"] = record["sex"]
    if birth:
        patient["birthDate"] = birth
    elif record.get("age") is not None:
        y, m, d = (int(x) for x in date.split("-"))
        patient["birthDate"] = f"{y - record['age']:04d}-01-01" if (m, d) >= (1, 1) else None
    entries.append({"fullUrl": f"urn:uuid:{pid}", "resource": patient})

    def obs(code, display, **value):
        add({"resourceType": "Observation", "status": "final",
             "category": [_cc("http://terminology.hl7.org/CodeSystem/observation-category",
                              "vital-signs")],
             "code": _cc(LOINC, code, display), "effectiveDateTime": when, **value})

    if record.get("weight"):
        obs("29463-7", "Body weight", valueQuantity=_quantity(record["weight"]))
    if record.get("height"):
        obs("8302-2", "Body height", valueQuantity=_quantity(record["height"]))
    if record.get("blood_pressure"):
        s, d = (int(x) for x in record["blood_pressure"].split("/"))
        mm = {"unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}
        obs("85354-9", "Blood pressure panel", component=[
            {"code": _cc(LOINC, "8480-6", "Systolic blood pressure"),
             "valueQuantity": {"value": s, **mm}},
            {"code": _cc(LOINC, "8462-4", "Diastolic blood pressure"),
             "valueQuantity": {"value": d, **mm}}])
    if record.get("heart_rate") is not None:
        obs("8867-4", "Heart rate", valueQuantity={"value": record["heart_rate"], "unit": "/min",
                                                    "system": UCUM, "code": "/min"})
    if record.get("pregnant") is not None:
        answer = ("LA15173-0", "Pregnant") if record["pregnant"] else ("LA26683-5", "Not pregnant")
        obs("82810-3", "Pregnancy status", valueCodeableConcept=_cc(LOINC, *answer))
    liver = record.get("liver") or {}
    for test, code in LIVER.items():
        if test in liver:
            extra = {}
            if f"{test}_uln" in liver:
                extra["referenceRange"] = [{"high": _quantity(liver[f"{test}_uln"])}]
            obs(code, test.upper(), valueQuantity=_quantity(liver[test]), **extra)
    if "conditions" in record:
        if not record["conditions"]:
            add({"resourceType": "Condition", "code": _cc(IPS, "no-known-problems")})
        for cid in record["conditions"]:
            add({"resourceType": "Condition",
                 "clinicalStatus": _cc(CLINICAL, "active"), "code": {"text": cid}})
    if "medications" in record:
        if not record["medications"]:
            add({"resourceType": "MedicationStatement", "status": "active",
                 "medicationCodeableConcept": _cc(IPS, "no-known-medications")})
        for med in record["medications"]:
            concept = (_cc(RXNORM, RX[med["name"]], med["name"]) if med["name"] in RX
                       else {"text": med["name"]})
            res = {"resourceType": "MedicationStatement", "status": "active",
                   "medicationCodeableConcept": concept}
            if med.get("stopped"):
                res["status"] = "completed"
                res["effectivePeriod"] = {"end": med["stopped"]}
            add(res)
    if "allergies" in record:
        if not record["allergies"]:
            add({"resourceType": "AllergyIntolerance", "code": _cc(IPS, "no-known-allergies")})
        for text in record["allergies"]:
            add({"resourceType": "AllergyIntolerance",
                 "clinicalStatus": _cc(ALLERGY_CLINICAL, "active"), "code": {"text": text}})
    return {"resourceType": "Bundle", "id": f"bundle-{pid}", "type": "collection",
            "entry": entries}
