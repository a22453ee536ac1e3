"""Approved screens: every condition and medicine in the vocabulary, every threshold on both sides,
and previous courses at every interval, screened against four regimens, compared whole (rule,
severity, title, message, source; questions; what each rule concluded) with a reviewed copy.

`tests/test_screen.py` checks that each rule fires and does not fire; this pins down the words
a clinician reads. Regenerate after an intended change with
``KETADOSE_UPDATE_GOLDEN=1 python -m pytest tests/test_screen_golden.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt

from test_screen import BASE, CASES, TODAY, patient

from conftest import assert_approved
from ketadose.io.library import thresholds, vocabulary
from ketadose.io.regimens import load_regimen
from ketadose.rules import screening_rules
from ketadose.screen import Context, run

# No regimen (a general check), a single IV session, an oral course, a continuous esketamine
# infusion, and a subcutaneous burst: rules read the route, drug and course length.
REGIMENS = (None, "consensus-cohen-2018", "oral-marchetti-2015", "crps-ketcrps2-esketamine",
            "cancer-pain-burst-ketamine", "crps-schwartzman-2009", "topical-rabi-2016")


def _ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


def _cases() -> dict:
    voc = vocabulary()
    cases = {f"case {i}: {c[0]} {c[1]}": c[2] for i, c in enumerate(CASES)}
    for cid, info in voc.conditions.items():
        for grade in [None, *info.get("grades", ())]:
            cases[f"condition {cid}:{grade}"] = {"conditions": [f"{cid}:{grade}" if grade else cid]}
    for name in voc.medicines:
        cases[f"medicine {name}"] = {"medications": [{"name": name}]}
    cases["two opioids with doses"] = {"medications": [{"name": "morphine", "dose": "60 mg/day"},
                                                       {"name": "oxycodone", "dose": "20 mg/day"}]}
    cases["an opioid without a dose"] = {"medications": [{"name": "morphine"},
                                                         {"name": "oxycodone", "dose": "20 mg/day"}]}
    for bp in ("160/90", "161/90", "180/100", "181/90", "150/101", "179/99"):
        cases[f"blood pressure {bp}"] = {"blood_pressure": bp}
    for hr in (49, 50, 120, 121):
        cases[f"heart rate {hr}"] = {"heart_rate": hr}
    for age in (17, 18, 65, 66):
        cases[f"age {age}"] = {"age": age}
    for alt in ("134 U/L", "135 U/L", "300 U/L"):
        cases[f"ALT {alt} (ULN 45)"] = {"liver": {**BASE["liver"], "alt": alt}}
    cases["ALT without its ULN"] = {"liver": {"alt": "40 U/L"}}
    cases["ALT exactly 3 x ULN (75/25)"] = {"liver": {**BASE["liver"], "alt": "75 U/L",
                                                     "alt_uln": "25 U/L"}}
    for enzyme in ("ast", "alp", "ggt"):
        cases[f"{enzyme.upper()} high"] = {"liver": {**BASE["liver"], enzyme: "500 U/L"}}
    for allergy in ("esketamine", "s-ketamine"):
        cases[f"allergy {allergy}"] = {"allergies": [allergy]}
    # several findings from one rule: none may replace another
    cases["every condition"] = {"conditions": [
        c for c in vocabulary().conditions if c != "hepatic-impairment"] + ["hepatic-impairment:severe"]}
    cases["pregnant, pre-eclampsia, breastfeeding"] = {
        "pregnant": True, "breastfeeding": True, "conditions": ["pre-eclampsia"]}
    cases["previous liver injury and high ALT"] = {
        "previous_courses": [{"ended": _ago(200), "liver_injury": True}],
        "liver": {**BASE["liver"], "alt": "300 U/L"}}
    cases["an old course, then a recent one"] = {"previous_courses": [
        {"ended": _ago(400), "hours": "100 h"}, {"ended": _ago(10), "hours": "100 h"}]}
    cases["two enzymes high"] = {"liver": {**BASE["liver"], "alt": "200 U/L", "ggt": "150 U/L"}}
    for days in (0, 10, 16, 17, 27, 28, 60):  # a course ending in the future is an input error
        for hours in ("100 h", "50 h", None):
            course = {"ended": _ago(days), **({"hours": hours} if hours else {})}
            cases[f"course {days} days ago, {hours}"] = {"previous_courses": [course]}
            cases[f"course {days} days ago, {hours}, no liver tests"] = {
                "previous_courses": [course], "liver": None}
    cases["course with liver injury"] = {"previous_courses": [{"ended": _ago(200),
                                                               "liver_injury": True}]}
    cases["male, pregnancy not asked"] = {"sex": "male", "pregnant": None}
    cases["female, pregnancy not asked"] = {"pregnant": None}
    cases["breastfeeding"] = {"breastfeeding": True}
    cases["nothing asked"] = {k: None for k in BASE if k != "weight"}
    return cases


def _screen(person, regimen):
    s = run(person, Context(regimen, TODAY, vocabulary(), thresholds()), screening_rules())
    return {"status": s.status, "blocking": s.blocking,
            "findings": [[f.rule, f.severity, f.title, f.message, f.source, f.unverified]
                         for f in s.findings],
            "not_assessed": [list(x) for x in s.not_assessed],
            # "not fired" is the rest
            "fired": [rid for rid, status in s.evaluated if status == "fired"],
            "not_assessed_rules": [rid for rid, status in s.evaluated if status == "not assessed"]}


def test_screens_match_the_approved_copy():
    regimens = {rid: load_regimen(rid)[1] if rid else None for rid in REGIMENS}
    got = {}
    for name, changes in _cases().items():
        person = patient(**changes)
        for rid, regimen in regimens.items():
            got[f"{name} | {rid}"] = _screen(person, regimen)
    assert_approved("screen.json", got)
