"""FHIR R4/R4B patients in: a Bundle (collection, searchset, transaction, batch) or a Patient with
contained resources becomes the SAME raw patient record a YAML/JSON patient file holds, plus where
each field came from. The record then goes through the ordinary patient validation and screening.

Nothing is dropped silently: a code no table maps, a unit outside the closed vocabulary of a
table, an old measurement — each is reported. Codes that map to nothing are written into the
record's ``not_understood`` list, which keeps the screen ``incomplete`` until a clinician answers.
The tables (``ketadose/data/fhir_map.yaml``) name the source of every code.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal

from ketadose.errors import KetadoseError

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"

BUNDLE_TYPES = ("collection", "searchset", "transaction", "batch", "transaction-response",
                "batch-response")
# A whole-record export of one patient (every encounter, claim, observation) runs to thousands of
# resources: it must be readable as it is exported. The bound stops pathological input; the size
# bounds (1 MiB files, --max-line for JSON Lines) come first.
MAX_RESOURCES = 100_000
OBS_OK = ("final", "amended", "corrected")  # FHIR observation-status: results that count
CLINICAL_INACTIVE = ("inactive", "remission", "resolved")  # condition/allergy clinicalStatus
VERIFICATION_VOID = ("refuted", "entered-in-error")
MED_CURRENT = {"MedicationStatement": ("active", "intended", "on-hold", "unknown"),
               "MedicationRequest": ("active", "on-hold", "draft", "unknown")}
MED_STOPPED = {"MedicationStatement": ("completed", "stopped"),
               "MedicationRequest": ("completed", "stopped")}
# statuses that say the medicine was never taken or the entry is void
MED_VOID = ("entered-in-error", "not-taken", "cancelled")


@functools.cache
def tables() -> dict:
    import yaml

    from ketadose.io.library import _SAFE, data_text

    return yaml.load(data_text("fhir_map.yaml"), Loader=_SAFE)


@dataclass
class Imported:
    """The derived record and everything a clinician needs to check it."""

    record: dict
    provenance: dict = field(default_factory=dict)  # record field -> [{resource, date, ...}]
    not_understood: list = field(default_factory=list)  # {text, resource}
    stale: list = field(default_factory=list)  # {field, resource, date, days, window}
    ignored: list = field(default_factory=list)  # {resource, reason}
    settings: dict = field(default_factory=dict)

    def report(self) -> dict:
        return {"patient": self.record, "provenance": self.provenance,
                "not_understood": self.not_understood, "stale": self.stale,
                "ignored": self.ignored, "import": self.settings}


def is_fhir(data) -> bool:
    return isinstance(data, dict) and "resourceType" in data


def record_from_fhir(data, today: dt.date, name: str = "FHIR input", stale_after=None) -> dict:
    """The raw patient record (for the ordinary loaders); KetadoseError if the input is unusable."""
    return from_fhir(data, today, name, stale_after).record


def from_fhir(data, today: dt.date, name: str = "FHIR input", stale_after=None,
              answered=()) -> Imported:
    """Derive a patient record from FHIR ``data`` as of the screening date ``today``.

    ``answered``: sections ("conditions", "medications", "allergies") the source declares complete
    (a CDS Hooks prefetch that ran the search), so that no entries means "asked: none".
    """
    windows = dict(tables()["stale_after_days"])
    for key, days in (stale_after or {}).items():
        if key not in windows:
            raise KetadoseError(f"--stale-after: unknown field {key!r} "
                                f"(one of {', '.join(windows)})")
        windows[key] = int(days)
    out = Imported({}, settings={"screening_date": today.isoformat(),
                                 "mapping_version": tables()["version"],
                                 "stale_after_days": windows})
    _Reader(out, name, today, windows).read(data, set(answered))
    return out


def _where(name, res) -> str:
    return f"{name}: {_ref(res)}"


def _ref(res) -> str:
    rid = res.get("id")
    return f"{res.get('resourceType')}/{rid}" if isinstance(rid, str) and rid else \
        f"{res.get('resourceType')} (no id)"


def _codings(concept) -> list:
    """The codings of a CodeableConcept, with only text values kept (malformed ones dropped)."""
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return []
    return [{k: c[k] for k in ("system", "code", "display") if isinstance(c.get(k), str)}
            for c in concept["coding"] if isinstance(c, dict)]


def _code(concept, system=None):
    return [c.get("code") for c in _codings(concept)
            if system is None or c.get("system") == system]


def _keys(concept) -> list:
    return [f"{c.get('system')}|{c.get('code')}" for c in _codings(concept)]


def _text(concept) -> str:
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return concept["text"].strip()
    for c in _codings(concept):
        if isinstance(c.get("display"), str) and c["display"].strip():
            return c["display"].strip()
    return ""


def _describe(concept) -> str:
    text = _text(concept)
    codes = ", ".join(f"{_system_name(c.get('system'))} {c.get('code')}" for c in _codings(concept))
    return f"{text or 'no text'}" + (f" ({codes})" if codes else "")


def _system_name(system) -> str:
    return {LOINC: "LOINC", SNOMED: "SNOMED CT", ICD10CM: "ICD-10-CM", RXNORM: "RxNorm",
            ATC: "ATC", UCUM: "UCUM"}.get(system, str(system))


def _num(value) -> str:
    """A JSON number as plain decimal text (never an exponent) for the record's quantity text."""
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def _date(text):
    """A FHIR date/dateTime/instant as a date (the day it was measured), or None."""
    if not isinstance(text, str):
        return None
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", text)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _obs_date(res):
    for key in ("effectiveDateTime", "effectiveInstant"):
        if res.get(key):
            return _date(res[key])
    period = res.get("effectivePeriod")
    if isinstance(period, dict):
        return _date(period.get("end")) or _date(period.get("start"))
    return _date(res.get("issued"))


def _status(res, key) -> str | None:
    codes = _code(res.get(key))
    return codes[0] if codes else None


class _Reader:
    def __init__(self, out: Imported, name, today, windows):
        self.out, self.name, self.today, self.windows = out, name, today, windows
        self.t = tables()
        self.patient = None
        self.patient_refs: set = set()
        self.media: dict = {}  # Medication resources by reference

    # ------------------------------------------------------------------ resources
    def read(self, data, answered):
        resources = self._resources(data)
        patients = [(r, url) for r, url in resources if r.get("resourceType") == "Patient"]
        ids = {str(p.get("id")) for p, _ in patients}
        if len(ids) > 1:
            raise KetadoseError(f"the bundle holds {len(ids)} different patients "
                                f"({', '.join(sorted(str(i) for i in ids))}); give one", self.name)
        if patients:
            self.patient = patients[0][0]
            pid = self.patient.get("id")
            self.patient_refs = {f"Patient/{pid}"} | {u for _, u in patients if u}
        for res, url in resources:
            if res.get("resourceType") == "Medication":
                for key in ([f"Medication/{res.get('id')}", f"#{res.get('id')}"] + ([url] if url else [])):
                    self.media[key] = res
        if self.patient is not None:
            self._guarded(self.patient, self._demographics)
        sections = {"conditions": [], "medications": [], "allergies": []}
        observations = []
        for res, _ in resources:
            kind = res.get("resourceType")
            if kind in ("Patient", "Medication"):
                continue
            self._subject(res)
            if kind == "Observation":
                observations.append(res)
            elif kind == "Condition":
                sections["conditions"].append(res)
            elif kind in ("MedicationStatement", "MedicationRequest"):
                sections["medications"].append(res)
            elif kind == "AllergyIntolerance":
                sections["allergies"].append(res)
            else:
                self.out.ignored.append({"resource": _ref(res),
                                         "reason": f"ketadose does not read {kind} resources"})
        self._observations(observations)
        self._conditions(sections["conditions"], "conditions" in answered)
        self._medications(sections["medications"], "medications" in answered)
        self._allergies(sections["allergies"], "allergies" in answered)
        if self.out.not_understood:
            self.out.record["not_understood"] = [
                {"text": n["text"], "source": n["resource"]} for n in self.out.not_understood]

    def _resources(self, data) -> list:
        """(resource, fullUrl) pairs: bundle entries (bundles nest) or a Patient and its contained."""
        if not isinstance(data, dict):
            raise KetadoseError("a FHIR patient is a JSON object", self.name)
        out: list = []

        def add(res, url, depth=0):
            if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
                raise KetadoseError("an entry without a resource (resourceType)", self.name)
            if len(out) > MAX_RESOURCES:
                raise KetadoseError(f"more than {MAX_RESOURCES} resources; refusing", self.name)
            kind = res["resourceType"]
            if kind == "Bundle":
                if depth > 2:
                    raise KetadoseError("bundles nested more than 2 deep", self.name)
                if res.get("type") not in BUNDLE_TYPES:
                    raise KetadoseError(f"Bundle type {res.get('type')!r} is not read "
                                        f"(one of {', '.join(BUNDLE_TYPES)})", self.name)
                entries = res.get("entry") or []
                if not isinstance(entries, list):
                    raise KetadoseError("Bundle.entry must be a list", self.name)
                for e in entries:
                    if not isinstance(e, dict):
                        raise KetadoseError("Bundle.entry items must be objects", self.name)
                    search = e.get("search") if isinstance(e.get("search"), dict) else {}
                    if search.get("mode") == "outcome" or \
                            (isinstance(e.get("resource"), dict)
                             and e["resource"].get("resourceType") == "OperationOutcome"):
                        continue
                    if "resource" not in e:  # e.g. a transaction-response entry
                        continue
                    add(e["resource"], e.get("fullUrl"), depth + 1)
                return
            out.append((res, url if isinstance(url, str) else None))
            contained = res.get("contained") or []
            if not isinstance(contained, list):
                raise KetadoseError(f"{_ref(res)}: contained must be a list", self.name)
            for c in contained:
                if isinstance(c, dict) and c.get("resourceType") == "Bundle":
                    raise KetadoseError("a contained Bundle is not allowed", self.name)
                add(c, None, depth + 1)

        kind = data.get("resourceType")
        if kind not in ("Bundle", "Patient"):
            raise KetadoseError(f"a FHIR patient is a Bundle or a Patient with contained "
                                f"resources, not a {kind}", self.name)
        add(data, None)
        return out

    def _subject(self, res):
        """A resource about another patient must not be mixed into this one's screen."""
        subject = res.get("subject") or res.get("patient")
        if not isinstance(subject, dict) or "reference" not in subject:
            return
        ref = subject["reference"]
        if not isinstance(ref, str):
            raise KetadoseError("subject.reference must be text", _where(self.name, res))
        if self.patient is None:
            if not hasattr(self, "_first_subject"):
                self._first_subject = ref
            elif ref != self._first_subject:
                raise KetadoseError(f"resources refer to different patients ({self._first_subject} "
                                    f"and {ref})", _where(self.name, res))
            return
        pid = self.patient.get("id")
        if ref in self.patient_refs or ref.endswith(f"/Patient/{pid}") or ref == "#":
            return
        raise KetadoseError(f"refers to {ref}, not to the bundle's Patient/{pid}",
                            _where(self.name, res))

    # ------------------------------------------------------------------ patient
    def _guarded(self, res, fn, *args):
        """Run fn on one resource: a field of the wrong JSON type or shape is an input error
        naming the resource, never a crash."""
        try:
            return fn(*args)
        except KetadoseError:
            raise
        except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
            raise KetadoseError(f"malformed {res.get('resourceType')}: a field has the wrong "
                                f"JSON type or shape ({type(exc).__name__})",
                                _where(self.name, res)) from None

    def _demographics(self):
        p = self.patient
        if p is None:
            return
        ref = _ref(p)
        rec, prov = self.out.record, self.out.provenance
        if isinstance(p.get("id"), str) and p["id"]:
            rec["id"] = p["id"]
            prov["id"] = [{"resource": ref}]
        gender = p.get("gender")
        if gender in ("female", "male"):
            rec["sex"] = gender
            prov["sex"] = [{"resource": ref, "value": gender}]
        elif gender is not None:
            self._not_understood(f"administrative gender {gender!r} (ketadose's sex is female or "
                                 "male: answer it by hand if a rule needs it)", ref)
        born = p.get("birthDate")
        if born is None:
            return
        birth = _date(born) if isinstance(born, str) and len(born) == 10 else None
        if birth is None:
            self._not_understood(f"birthDate {born!r} is not a full date: the age is unknown", ref)
            return
        if birth > self.today:
            raise KetadoseError(f"birthDate {born} is after the screening date "
                                f"{self.today.isoformat()}", _where(self.name, p))
        age = self.today.year - birth.year - ((self.today.month, self.today.day)
                                              < (birth.month, birth.day))
        rec["age"] = age
        prov["age"] = [{"resource": ref, "date": born,
                        "value": f"{age} years on {self.today.isoformat()}"}]

    def _not_understood(self, text, ref):
        self.out.not_understood.append({"text": text, "resource": ref})

    # ------------------------------------------------------------------ observations
    def _observations(self, observations):
        table = self.t["observations"]
        found: dict = {}  # field -> [(date, res, value)]
        for res in observations:
            self._guarded(res, self._observation, res, table, found)
        self._pair_blood_pressure(found)
        for fieldname, items in found.items():
            self._guarded(items[0][1], self._newest, fieldname, items)

    def _observation(self, res, table, found):
        ref = _ref(res)
        if res.get("status") not in OBS_OK:
            self.out.ignored.append({"resource": ref, "reason": f"status {res.get('status')!r}"
                                     " (only final, amended and corrected results count)"})
            return
        loincs = [c for c in _code(res.get("code"), LOINC) if c in table]
        if not loincs:
            self._not_understood(f"observation {_describe(res.get('code'))}", ref)
            return
        entry = table[loincs[0]]
        when = _obs_date(res)
        if when is not None and when > self.today:
            self.out.ignored.append({"resource": ref, "reason": f"dated {when.isoformat()}, "
                                     "after the screening date"})
            return
        fieldname = entry["field"]
        if fieldname in ("systolic", "diastolic"):
            value = self._quantity(res, res.get("valueQuantity"), "blood_pressure")
            found.setdefault(fieldname, []).append((when, res, value))
        elif fieldname == "blood_pressure":
            comps = {}
            for comp in res.get("component") or ():
                code = _code(comp.get("code"), LOINC)
                part = table.get(code[0], {}).get("field") if code else None
                if part in ("systolic", "diastolic"):
                    comps[part] = self._quantity(res, comp.get("valueQuantity"), "blood_pressure")
            if set(comps) != {"systolic", "diastolic"}:
                self._not_understood("blood pressure panel without both systolic and "
                                     "diastolic components", ref)
                return
            found.setdefault("blood_pressure", []).append((when, res, comps))
        elif fieldname == "pregnant":
            answers = self.t["pregnancy_answers"]
            keys = [k for k in _keys(res.get("valueCodeableConcept")) if k in answers]
            if not keys:
                self._not_understood(f"pregnancy status "
                                     f"{_describe(res.get('valueCodeableConcept'))}", ref)
                return
            found.setdefault("pregnant", []).append((when, res, answers[keys[0]]))
        else:
            found.setdefault(fieldname, []).append((when, res, None))

    def _pair_blood_pressure(self, found):
        """Separate systolic and diastolic observations of the same time make a reading."""
        sys_, dia = found.pop("systolic", []), found.pop("diastolic", [])
        def moment(res, when):
            t = res.get("effectiveDateTime")
            return t if isinstance(t, str) else when

        by_time = {}
        for when, res, v in dia:
            by_time.setdefault(moment(res, when), []).append((res, v))
        for when, res, v in sys_:
            match = by_time.get(moment(res, when))
            if match:
                found.setdefault("blood_pressure", []).append(
                    (when, res, {"systolic": v, "diastolic": match[0][1], "with": match[0][0]}))
            else:
                self._not_understood("systolic pressure without a diastolic reading of the same "
                                     "time", _ref(res))

    def _newest(self, fieldname, items):
        items.sort(key=lambda x: (x[0] is not None, x[0] or dt.date.min), reverse=True)
        when, res, value = items[0]
        window_key = fieldname if fieldname in self.windows else "liver"
        window = self.windows[window_key]
        ref = _ref(res)
        if when is None:
            self.out.stale.append({"field": fieldname, "resource": ref, "date": None,
                                   "reason": "no date: its age cannot be judged"})
            return
        age_days = (self.today - when).days
        if age_days > window:
            self.out.stale.append({"field": fieldname, "resource": ref, "date": when.isoformat(),
                                   "days_old": age_days, "window_days": window})
            return
        prov = {"resource": ref, "date": when.isoformat()}
        rec = self.out.record
        if fieldname == "blood_pressure":
            s, d = value["systolic"], value["diastolic"]
            rec["blood_pressure"] = f"{_whole(s, res, self.name)}/{_whole(d, res, self.name)}"
            refs = ref + (f" + {_ref(value['with'])}" if "with" in value else "")
            self.out.provenance["blood_pressure"] = [dict(prov, resource=refs,
                                                          value=rec["blood_pressure"] + " mmHg")]
        elif fieldname == "pregnant":
            rec["pregnant"] = value
            self.out.provenance["pregnant"] = [dict(prov, value=value)]
        elif fieldname == "heart_rate":
            q = self._quantity(res, res.get("valueQuantity"), "heart_rate")
            rec["heart_rate"] = _whole(q, res, self.name)
            self.out.provenance["heart_rate"] = [dict(prov, value=f"{q[0]} /min")]
        elif fieldname in ("weight", "height"):
            q = self._quantity(res, res.get("valueQuantity"), fieldname)
            rec[fieldname] = f"{q[0]} {q[1]}"
            self.out.provenance[fieldname] = [dict(prov, value=rec[fieldname], original=q[2])]
        else:
            self._liver(fieldname, res, prov)

    def _liver(self, test, res, prov):
        kind = "bilirubin" if test == "bilirubin" else "enzyme"
        q = res.get("valueQuantity")
        if kind == "bilirubin" and isinstance(q, dict) and q.get("code") == "mg/dL":
            self._not_understood(f"total bilirubin {_num(q.get('value'))} mg/dL: ketadose records "
                                 "bilirubin in umol/L; convert it with your laboratory's factor "
                                 "and add it by hand", _ref(res))
            return
        value = self._quantity(res, q, kind)
        liver = self.out.record.setdefault("liver", {})
        liver[test] = f"{value[0]} {value[1]}"
        entry = dict(prov, value=liver[test])
        if kind == "enzyme":
            uln = self._uln(res)
            if uln is not None:
                liver[f"{test}_uln"] = f"{uln[0]} {uln[1]}"
                entry["upper_limit"] = liver[f"{test}_uln"]
        dates = [d for d in (liver.get("date"), prov["date"]) if d]
        liver["date"] = min(dates)  # the oldest test of the panel dates it
        self.out.provenance[f"liver.{test}"] = [entry]

    def _uln(self, res):
        for rr in res.get("referenceRange") or ():
            if isinstance(rr, dict) and isinstance(rr.get("high"), dict):
                return self._quantity(res, rr["high"], "enzyme", "referenceRange.high")
        return None

    def _quantity(self, res, q, kind, what="value"):
        """(value text, ketadose unit, original) for a FHIR Quantity, by the UCUM code table."""
        where = _where(self.name, res)
        if not isinstance(q, dict) or isinstance(q.get("value"), bool) or \
                not isinstance(q.get("value"), (int, float)):
            raise KetadoseError(f"{what} is not a number with a unit (valueQuantity)", where)
        units = self.t["units"][kind]
        code = q.get("code") if q.get("system") in (UCUM, None) else None
        code = code if code is not None else q.get("unit")
        if q.get("comparator") is not None:  # "<", "<=", ">=", ">", "ad": not a measurement
            raise KetadoseError(f"{what} is {q.get('comparator')!r} {_num(q['value'])}, a bound "
                                "and not a measured value (Quantity.comparator); record the "
                                "measured value", where)
        if code not in units:
            raise KetadoseError(f"{what} unit {q.get('code') or q.get('unit')!r} is not one "
                                f"ketadose reads here (UCUM: {', '.join(units)})", where)
        target = units[code]
        _same_unit(q.get("unit"), code, units, what, where)
        original = f"{_num(q['value'])} {code}"
        if isinstance(target, dict):  # an exact conversion (e.g. [in_i] -> cm, 2.54 by definition)
            value = Decimal(repr(q["value"])) * Decimal(str(target["factor"]))
            return _num(float(value)), target["unit"], original
        return _num(q["value"]), target, original

    # ------------------------------------------------------------------ lists
    def _section(self, key, resources, answered, item):
        """A list field: items from resources; "none known" statements; or unanswered."""
        none_known = set(self.t["none_known"][key])
        no_info = set(self.t["no_information"])
        items, said_none, prov = [], [], []
        for res in resources:
            concept = res.get("code") or res.get("medicationCodeableConcept")
            keys = set(_keys(concept))
            if keys & none_known:
                said_none.append(_ref(res))
                continue
            if keys & no_info:
                self.out.ignored.append({"resource": _ref(res), "reason": "says no information"})
                continue
            got = self._guarded(res, item, res)
            if got is not None:
                items.append(got[0])
                prov.append(got[1])
        if items or said_none or answered:
            self.out.record[key] = items
            self.out.provenance[key] = prov + [{"resource": r, "value": "none known"}
                                               for r in said_none]
            if said_none and items:
                self._not_understood(f"the record says no known {key} but also lists some", said_none[0])

    def _active(self, res) -> str | None:
        """Why a condition or allergy does not count, or None when it does."""
        clinical, verification = _status(res, "clinicalStatus"), _status(res, "verificationStatus")
        if verification in VERIFICATION_VOID:
            return f"verificationStatus {verification}"
        if clinical in CLINICAL_INACTIVE:
            return f"clinicalStatus {clinical}"
        return None

    def _conditions(self, resources, answered):
        by_text = _condition_texts()
        table = self.t.get("conditions") or {}

        def item(res):
            ref, concept = _ref(res), res.get("code")
            why = self._active(res)
            if why:
                self.out.ignored.append({"resource": ref, "reason": why})
                return None
            for key in _keys(concept):
                if key in table:
                    return table[key]["id"], {"resource": ref, "value": table[key]["id"],
                                              "code": key, "source": table[key]["source"]}
            # "Glaucoma (disorder)": a SNOMED CT semantic tag is not part of the name
            text = re.sub(r"\s*\((?:disorder|finding|situation)\)\s*$", "", _text(concept))
            cid = by_text.get(_norm(text))
            if cid:
                return cid, {"resource": ref, "value": cid, "matched": "text"}
            self._unknown("condition", concept, ref)
            return None

        self._section("conditions", resources, answered, item)

    def _unknown(self, what, concept, ref):
        hints = [self.t["unverified"][k] for k in _keys(concept) if k in self.t["unverified"]]
        self._not_understood(f"{what} {_describe(concept)}"
                             + (f" (possibly: {'; '.join(hints)})" if hints else ""), ref)

    def _medications(self, resources, answered):
        vocab = _vocabulary()
        table = self.t["medicines"]
        family = self.t["ketamine_family"]

        def item(res):
            ref, kind = _ref(res), res.get("resourceType")
            status = res.get("status")
            if status in MED_VOID:
                self.out.ignored.append({"resource": ref, "reason": f"status {status}"})
                return None
            concept = res.get("medicationCodeableConcept")
            if concept is None and isinstance(res.get("medicationReference"), dict):
                med = self.media.get(res["medicationReference"].get("reference"))
                concept = med.get("code") if med else None
            if _family(concept, family):
                self._not_understood(f"ketamine-family medicine {_describe(concept)}: is this a "
                                     "current or earlier ketamine course (previous_courses)?", ref)
                return None
            names = _medicine_names(concept, table, vocab)
            if not names:
                self._unknown("medicine", concept, ref)
                return None
            if len(names) > 1:
                self._not_understood(f"medicine {_describe(concept)} names several vocabulary "
                                     f"medicines ({', '.join(names)}): enter them by hand", ref)
                return None
            name, how = names[0]
            med = {"name": name}
            note = {"resource": ref, "value": name, "matched": how, "status": status}
            period = res.get("effectivePeriod") if isinstance(res.get("effectivePeriod"),
                                                              dict) else {}
            start = _date(period.get("start"))
            if start is not None:
                med["started"] = start.isoformat()
            if status in MED_STOPPED.get(kind, ()):
                end = _date(period.get("end"))
                if end is None:
                    note["note"] = f"status {status} without an end date: counted as current"
                else:
                    med["stopped"] = end.isoformat()
            elif status not in MED_CURRENT.get(kind, ()):
                note["note"] = f"status {status!r}: counted as current"
            return med, note

        self._section("medications", resources, answered, item)

    def _allergies(self, resources, answered):
        family = self.t["ketamine_family"]

        def item(res):
            ref, concept = _ref(res), res.get("code")
            why = self._active(res)
            if why:
                self.out.ignored.append({"resource": ref, "reason": why})
                return None
            hit = _family(concept, family)
            if hit:
                entry = {"substance": hit[0], **_reaction(res)}
                return (entry if len(entry) > 1 else hit[0]), {
                    "resource": ref, "value": hit[0], "code": hit[1], "source": hit[2]}
            text = _text(concept)
            if not text:
                self._unknown("allergy", concept, ref)
                return None
            # the allergy vocabulary matches names, brands and free text
            entry = {"substance": text, **_reaction(res)}
            return (entry if len(entry) > 1 else text), {"resource": ref, "value": text,
                                                         "matched": "text"}

        self._section("allergies", resources, answered, item)


_SEVERITY_RANK = ("mild", "moderate", "severe")


def _reaction(res) -> dict:
    """Reaction type and the worst severity an AllergyIntolerance records (FHIR type, and
    reaction.severity mild|moderate|severe); anaphylaxis when a manifestation's text says so."""
    out: dict[str, str | None] = {}
    reactions = [r for r in res.get("reaction") or () if isinstance(r, dict)]
    texts = " ".join(_text(m) for r in reactions for m in r.get("manifestation") or ()).lower()
    if "anaphyla" in texts:
        out["reaction"] = "anaphylaxis"
    elif res.get("type") == "intolerance":
        out["reaction"] = "intolerance"
    elif res.get("type") == "allergy":
        out["reaction"] = "hypersensitivity"
    severities = [r.get("severity") for r in reactions if r.get("severity") in _SEVERITY_RANK]
    if severities:
        out["severity"] = max(severities, key=_SEVERITY_RANK.index)
    return out


def _family(concept, family):
    for c in _codings(concept):
        entry = (family.get(c.get("system")) or {}).get(str(c.get("code")))
        if entry:
            return entry["name"], f"{c.get('system')}|{c.get('code')}", entry["source"]
    return None


def _medicine_names(concept, table, vocab) -> list:
    """[(vocabulary name, how)] from an ingredient code, else generic names written in the text."""
    for c in _codings(concept):
        entry = (table.get(c.get("system")) or {}).get(str(c.get("code")))
        if entry:
            return [(entry["name"], f"{_system_name(c.get('system'))} {c.get('code')} "
                                    f"({entry['source']})")]
    texts = [t for t in [concept.get("text") if isinstance(concept, dict) else None]
             + [c.get("display") for c in _codings(concept)] if isinstance(t, str)]
    found: list = []
    for text in texts:
        words = re.findall(r"[a-z][a-z'\-]*", text.lower())
        for n in range(3, 0, -1):  # longest phrase first ("st johns wort")
            for i in range(len(words) - n + 1):
                name = vocab.medicine(" ".join(words[i:i + n]))
                if name and name not in [f[0] for f in found]:
                    found.append((name, f"text {text!r}"))
        if found:
            break
    return found


def _whole(q, res, name) -> int:
    value = float(q[0]) if isinstance(q, tuple) else float(q)
    if value != int(value):
        raise KetadoseError(f"{value:g} is not a whole number (blood pressure and heart rate are "
                            "recorded as whole numbers)", _where(name, res))
    return int(value)


def _norm(text) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


@functools.cache
def _condition_texts() -> dict:
    """Normalised condition id and label -> vocabulary id."""
    out = {}
    for cid, info in _vocabulary().conditions.items():
        out[_norm(cid)] = cid
        out[_norm(info.get("label", ""))] = cid
    return out


def _vocabulary():
    from ketadose.io.library import vocabulary

    return vocabulary()


def _same_unit(text, code, units, what, where) -> None:
    """A Quantity's display text (``unit``) must not name another unit than its code: the
    clinician's EHR shows the text ("160 kg") while the code is what is computed ("[lb_av]", so
    72.6 kg). Which one the record meant cannot be known, so neither is taken. The text is
    read as one of this field's UCUM codes ("[lb_av]"), as a unit ketadose reads, or as one in
    other capitals ("KG", "LB": an EHR's display, not a different unit). A text that is none of
    these ("Kilogramm", "beats per minute") is display only and left alone."""
    from ketadose.errors import UnitError
    from ketadose.units import parse_unit

    if not isinstance(text, str) or text == code:
        return
    symbol, factor = _unit_of(units[code])
    try:
        coded = parse_unit(symbol)
    except UnitError:  # mmHg, /min: not units of a dose; no other text names them here
        return
    if text.strip() in units:
        shown_symbol, shown_factor = _unit_of(units[text.strip()])
    else:
        shown_symbol, shown_factor = _SPELLED.get(text.strip().lower(), text), 1
    for candidate in dict.fromkeys((shown_symbol, shown_symbol.lower())):
        try:
            shown = parse_unit(candidate)
        except UnitError:
            continue
        if shown.kind == coded.kind and shown.factor * shown_factor != coded.factor * factor:
            raise KetadoseError(f"{what} unit text {text!r} and UCUM code {code!r} name "
                                "different units; correct the record at its source", where)
        return


_SPELLED = {"pound": "lb", "pounds": "lb", "kilogram": "kg", "kilograms": "kg", "kilo": "kg",
            "kilos": "kg", "kilogramme": "kg", "kilogrammes": "kg", "gram": "g", "grams": "g",
            "centimeter": "cm", "centimeters": "cm", "centimetre": "cm", "centimetres": "cm",
            "meter": "m", "meters": "m", "metre": "m", "metres": "m", "inch": "in", "inches": "in"}
"""English unit names an EHR may display as a Quantity's text: read so that "pounds" beside the
code kg is refused like "lb" is (review 24), not passed as display only."""


def _unit_of(target) -> tuple:
    """(ketadose unit symbol, exact factor) of an entry of fhir_map.yaml's units table."""
    from fractions import Fraction

    if isinstance(target, dict):  # an exact conversion (e.g. [in_i] -> cm, 2.54 by definition)
        return target["unit"], Fraction(str(target["factor"]))
    return target, Fraction(1)
