"""Realistic CDS Hooks requests built from the shipped example patient as FHIR (tests, bench)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

from fhir_builder import bundle

ROOT = Path(__file__).resolve().parent.parent
UCUM = "http://unitsofmeasure.org"
REGIMEN_EXT = "https://ketadose.invalid/fhir/StructureDefinition/regimen"


def example_record() -> dict:
    from ketadose.io.yamlsrc import load_text

    return load_text((ROOT / "examples" / "patient.yaml").read_text(), "x").data


def searchset(resources) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"https://ehr.example/fhir/{r['resourceType']}/{r['id']}",
                       "resource": r, "search": {"mode": "match"}} for r in resources]}


def prefetch_for(record: dict, date="2026-11-20", birth="1981-03-14") -> dict:
    """The prefetch an EHR would send for the services' templates."""
    b = bundle(record, date, birth=birth)
    res = [e["resource"] for e in b["entry"]]

    def kind(k):
        return [r for r in res if r["resourceType"] == k]

    return {"patient": kind("Patient")[0], "observations": searchset(kind("Observation")),
            "conditions": searchset(kind("Condition")),
            "medicationRequests": searchset(kind("MedicationRequest")),
            "medicationStatements": searchset(kind("MedicationStatement")),
            "allergies": searchset(kind("AllergyIntolerance"))}


def ketamine_order(rate_mg_h=None, regimen="crps-schwartzman-2009", pid="example-001",
                   oid="ket-1", coded=True) -> dict:
    concept = {"text": "ketamine 10 mg/mL in sodium chloride 0.9%, IV infusion"}
    if coded:
        concept["coding"] = [{"system": "http://www.whocc.no/atc", "code": "N01AX03",
                              "display": "ketamine"}]
    order = {"resourceType": "MedicationRequest", "id": oid, "status": "draft", "intent": "order",
             "subject": {"reference": f"Patient/{pid}"}, "medicationCodeableConcept": concept,
             "dosageInstruction": [{"text": "IV infusion"}]}
    if regimen:
        order["extension"] = [{"url": REGIMEN_EXT, "valueString": regimen}]
    if rate_mg_h is not None:
        order["dosageInstruction"][0]["doseAndRate"] = [{"rateQuantity": {
            "value": rate_mg_h, "unit": "mg/h", "system": UCUM, "code": "mg/h"}}]
    return order


def request(hook="order-sign", record=None, prefetch=None, orders=None, drop=()) -> dict:
    record = copy.deepcopy(record if record is not None else example_record())
    pf = prefetch if prefetch is not None else prefetch_for(record)
    for key in drop:
        pf.pop(key, None)
    orders = orders if orders is not None else [ketamine_order()]
    context = {"userId": "Practitioner/dr-1", "patientId": record.get("id", "example-001"),
               "draftOrders": {"resourceType": "Bundle", "type": "collection",
                               "entry": [{"resource": o} for o in orders]}}
    if hook == "order-select":
        context["selections"] = [f"MedicationRequest/{orders[0]['id']}"] if orders else []
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context,
            "prefetch": pf}


def dumps(data) -> bytes:
    return json.dumps(data).encode()
