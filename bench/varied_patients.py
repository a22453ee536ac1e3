"""Varied patient records for the screening benchmarks and the saved-output comparisons: every
field sometimes missing, conditions with and without grades (and odd spellings), medicines with
doses, routes and stop dates, allergy texts as clinicians write them ("Ketalar (anaphylaxis)",
"ketmaine", objects with a reaction), liver panels with and without their upper limits,
previous courses, imported entries, and now and then a broken record (an error line).

    python bench/varied_patients.py N [SEED] [csv]   writes N records to stdout
"""

from __future__ import annotations

import json
import random
import sys

CONDITIONS = ["uncontrolled-hypertension", "ischaemic-heart-disease", "ischaemic-heart-disease:severe",
              "ischaemic-heart-disease:stable", "myocardial-disease:poorly-controlled",
              "recent-myocardial-infarction", "unstable-angina", "heart-failure", "tachyarrhythmia",
              "cerebrovascular-accident", "raised-intracranial-pressure", "head-injury",
              "raised-intraocular-pressure", "glaucoma", "pre-eclampsia", "active-psychosis",
              "schizophrenia", "bipolar-disorder", "substance-use-disorder", "ketamine-misuse",
              "alcohol-use-disorder", "hepatic-impairment", "hepatic-impairment:mild",
              "hepatic-impairment:moderate", "Hepatic_Impairment:severe", "hyperthyroidism",
              "porphyria", "seizure-disorder", "lower-urinary-tract-symptoms", "crps",
              "Neuropathic Pain", "cancer-pain"]
MEDICINES = ["morphine", "oxycodone", "fentanyl", "methadone", "tramadol", "buprenorphine",
             "diazepam", "lorazepam", "midazolam", "gabapentin", "pregabalin", "zolpidem",
             "clarithromycin", "itraconazole", "ketoconazole", "ritonavir", "grapefruit-juice",
             "rifampicin", "st-johns-wort", "carbamazepine", "ticlopidine", "phenelzine",
             "moclobemide", "selegiline", "epinephrine", "pseudoephedrine", "levothyroxine",
             "theophylline", "aminophylline", "lamotrigine", "memantine", "amantadine",
             "dextromethorphan", "ergometrine", "clonidine", "amlodipine", "ramipril",
             "metoprolol", "amitriptyline", "duloxetine", "paracetamol", "ibuprofen",
             "St John's Wort", "Levothyroxine"]
DOSES = {"morphine": ["60 mg/day", "30 mg/day", "10 mg"], "oxycodone": ["40 mg/day"],
         "fentanyl": ["25 mcg/h", "50 mcg/h"], "methadone": ["20 mg/day"],
         "tramadol": ["200 mg/day"]}
ALLERGIES = ["Ketalar (anaphylaxis)", "ketamine", "ketamine HCl", "(S)-ketamine", "esketamine",
             "keta-mine", "ketmaine", "KETAMINE hydrochloride", "penicillin", "amoxicillin rash",
             "latex", "sulfa", "codeine", "opioids", "midazolam", "Versed", "clonidine",
             "peanuts", "cat", "catapres", "unknown tablet", "Spravato", "aspirin, ketamin"]
OBJECT_ALLERGIES = [{"substance": "ketamine", "reaction": "intolerance"},
                    {"substance": "Ketanest", "reaction": "anaphylaxis", "severity": "severe"},
                    {"substance": "blue tablet", "ketamine_family": False},
                    {"substance": "blue tablet", "ketamine_family": True},
                    {"substance": "midazolam", "reaction": "hypersensitivity"},
                    {"substance": "ketmaine", "reaction": "unknown", "ketamine_family": False}]
BROKEN = [{"age": "forty"}, {"weight": "72 stone"}, {"conditions": ["no-such-condition"]},
          {"medications": [{"name": "unknownium"}]}, {"sex": "male", "pregnant": True},
          {"blood_pressure": "300/20"}, {"colour": "blue"}, {"age": None},
          {"previous_courses": [{"ended": "2099-01-01"}]}, {"id": 7}]


def _date(rnd, base=2026):
    return f"{base - rnd.randint(0, 1)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"


def record(rnd: random.Random, i: int) -> dict:
    def maybe(p=0.85):
        return rnd.random() < p

    data: dict = {}
    if maybe(0.95):
        data["id"] = rnd.choice([f"p{i}", f"patient \u00e9 {i}", f"p{i}\u2028x"])
    if maybe():
        data["age"] = rnd.choice([rnd.randint(18, 90), rnd.randint(0, 120)])
    if maybe():
        data["sex"] = rnd.choice(["female", "male"])
    if maybe():
        data["weight"] = rnd.choice([f"{rnd.randint(45, 130)} kg", str(rnd.randint(45, 130)),
                                     rnd.randint(45, 130), f"{rnd.randint(100, 280)} lb"])
    if maybe(0.7):
        data["height"] = f"{rnd.randint(150, 195)} cm"
    if data.get("sex") != "male" and maybe(0.8):
        data["pregnant"] = rnd.random() < 0.05
        if maybe(0.7):
            data["breastfeeding"] = rnd.random() < 0.05
    if maybe():
        data["blood_pressure"] = f"{rnd.randint(95, 200)}/{rnd.randint(55, 110)}"
    if maybe():
        data["heart_rate"] = rnd.randint(40, 140)
    if maybe():
        data["conditions"] = rnd.sample(CONDITIONS, rnd.choice([0, 0, 0, 1, 1, 2]))
    if maybe():
        meds = []
        for name in rnd.sample(MEDICINES, rnd.choice([0, 0, 1, 1, 2, 3])):
            med: dict = {"name": name}
            if name in DOSES and maybe(0.6):
                med["dose"] = rnd.choice(DOSES[name])
            if maybe(0.15):
                med["stopped"] = _date(rnd)
            if maybe(0.1):
                med["route"] = rnd.choice(["oral", "iv"])
            meds.append(med)
        data["medications"] = meds
    if maybe():
        data["allergies"] = [rnd.choice(ALLERGIES) if maybe(0.8) else dict(rnd.choice(OBJECT_ALLERGIES))
                             for _ in range(rnd.choice([0, 0, 0, 1, 1, 2]))]
    if maybe(0.6):
        liver = {}
        for test in ("alt", "ast", "alp", "ggt"):
            if maybe(0.6):
                liver[test] = f"{rnd.choice([20, 30, 45, 80, 150, 200])} U/L"
            if maybe(0.6):
                liver[f"{test}_uln"] = f"{rnd.choice([35, 40, 45, 120])} U/L"
        data["liver"] = liver
    if maybe(0.7):
        courses = []
        for _ in range(rnd.choice([0, 0, 1, 2])):
            course: dict = {"ended": _date(rnd, 2026)}
            if maybe(0.6):
                course["hours"] = f"{rnd.choice([4, 24, 100, 120])} h"
            if maybe(0.3):
                course["liver_injury"] = rnd.random() < 0.3
            courses.append(course)
        data["previous_courses"] = courses
    if maybe(0.03):
        data["not_understood"] = [{"text": "condition Fibromyalgia (SNOMED CT 203082005)",
                                   "source": "Condition/c1"}]
    if maybe(0.05):
        data["notes"] = "seen in clinic"
    if maybe(0.03):
        data.update(rnd.choice(BROKEN))
    return data


def records(n: int, seed: int = 1):
    rnd = random.Random(seed)
    return (record(rnd, i) for i in range(n))


CSV_HEADER = ["id", "age", "sex", "weight", "height", "pregnant", "breastfeeding",
              "blood_pressure", "heart_rate", "conditions", "medications", "allergies", "alt",
              "alt_uln", "ast", "ast_uln", "previous_courses"]


def csv_row(data: dict) -> list:
    """The record as a CSV row (what CSV can say: no objects in lists)."""
    def cell(key):
        v = data.get(key)
        if v is None:
            return ""
        if key == "conditions":
            return ";".join(v) if v else "none"
        if key == "medications":
            return ";".join(m["name"] + (":" + m["dose"] if "dose" in m else "") for m in v) \
                if v else "none"
        if key == "allergies":
            texts = [a for a in v if isinstance(a, str)]
            return ";".join(t.replace(";", ",") for t in texts) if texts else "none"
        if key == "previous_courses":
            return ";".join("|".join([c["ended"], c.get("hours", "")]
                                     + ([str(c["liver_injury"]).lower()] if "liver_injury" in c
                                        else [])) for c in v) if v else "none"
        if isinstance(v, bool):
            return str(v).lower()
        return str(v)

    row = [cell(k) for k in CSV_HEADER[:12]]
    liver = data.get("liver") or {}
    return row + [liver.get(k, "") for k in CSV_HEADER[12:16]] + [cell("previous_courses")]


def main():
    import csv

    n = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if len(sys.argv) > 3 and sys.argv[3] == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for data in records(n, seed):
            writer.writerow(csv_row(data))
    else:
        for data in records(n, seed):
            sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
