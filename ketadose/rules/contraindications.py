"""Contraindications and precautions (KD-CI-...): the patient's conditions, vital signs,
pregnancy, age, allergies and liver.

Severities: absolute (do not give), relative (do not proceed unless a clinician records why),
caution (proceed with extra care or monitoring), info. Each check returns findings, nothing,
or Missing(question) when it needs a field the record does not answer.
"""

from __future__ import annotations

from ketadose.findings import Finding
from ketadose.questions import ask
from ketadose.rules import rule
from ketadose.rules.sources import COHEN, NOPPERS
from ketadose.screen import Missing, needs
from ketadose.text import printable

LABEL = "US Ketalar (ketamine HCl) label, section 4 Contraindications"
SWISS = "Swiss Fachinfo ketamine (reg. 67199); ketamin-hameln 50 mg/mL PIL (DE)"
UK = "UK Ketalar SmPC (Pfizer, MHRA 2019)"
DE_PIL = "ketamin-hameln 50 mg/mL patient information leaflet (DE), precautions"


def _f(rid, severity, title, message, source):
    return [Finding(rid, severity, message, source, title=title)]


CONDITIONS_QUESTION = "Which conditions does the patient have ({answer})?"
allergies_asked = needs("allergies", "Any allergy to ketamine or esketamine ({answer})?")
conditions_asked = needs("conditions", CONDITIONS_QUESTION)


def hypersensitivity(patient, ctx):
    """Known hypersensitivity to ketamine in any form: racemic, esketamine, arketamine, any salt or
    brand (Ketalar, Ketanest, Spravato ...), found inside free text whatever the case and
    punctuation. An allergy ketadose cannot place is asked about, never ignored. A recorded
    intolerance (not hypersensitivity) is relative: the label's contraindication is for
    hypersensitivity and no source grades an intolerance (UNVERIFIED).

    FAIL: allergies: [Ketalar (anaphylaxis)]
    PASS: allergies: [penicillin]
    """
    out = []
    for allergy in patient.allergies:
        shown = repr(printable(allergy.text))
        detail = ", ".join(x for x in (allergy.reaction, allergy.severity) if x)
        detail = f" ({detail})" if detail else ""
        if allergy.ketamine_family and allergy.reaction == "intolerance":
            out.append(Finding(
                "KD-CI-001", "relative", f"Recorded intolerance of ketamine: {shown}{detail}; not "
                "a hypersensitivity, so the label's absolute contraindication does not apply as "
                "written; do not proceed unless a clinician records why.", LABEL,
                title="Ketamine intolerance",
                unverified="no source grades a ketamine intolerance; relative is ketadose's choice"))
        elif allergy.ketamine_family:
            out += _f("KD-CI-001", "absolute", "Ketamine hypersensitivity",
                      f"Known hypersensitivity to ketamine: {shown}{detail}; do not give ketamine "
                      "in any form (racemic, esketamine, arketamine).", LABEL)
        elif allergy.ketamine_family is None:
            near = (" It looks like a misspelling of a ketamine name." if allergy.resembles
                    else "")
            out.append(Missing(f"Allergy {shown} is not a substance ketadose knows.{near} Is this "
                               "a ketamine-family allergy? (record it as {substance: ..., "
                               "ketamine_family: true or false})"))
    return out


def blood_pressure(patient, ctx):
    """Uncontrolled hypertension: resting blood pressure above 180/100 mmHg, or recorded as uncontrolled.

    A significant rise in blood pressure would be a serious hazard (label); the Swiss and German
    labels set the line at 180/100 mmHg at rest. Between 160/100 and 180/100 is a caution (a
    trial exclusion threshold).

    FAIL: blood_pressure: 185/105
    PASS: blood_pressure: 128/82
    """
    if patient.has("uncontrolled-hypertension"):
        return _f("KD-CI-002", "absolute", "Uncontrolled hypertension",
                  "Uncontrolled hypertension: a rise in blood pressure is a serious hazard; do not "
                  "give ketamine until it is controlled.", f"{LABEL}; {SWISS}")
    if patient.systolic is None:
        return Missing(f"What is the resting blood pressure ({ask('blood_pressure', ctx)})?")
    bp = f"{patient.systolic}/{patient.diastolic} mmHg"
    th = ctx.th
    line = (f"{th.value('bp-systolic-contraindication'):g}/"
            f"{th.value('bp-diastolic-contraindication'):g}")
    if (th.fires("bp-systolic-contraindication", patient.systolic)
            or th.fires("bp-diastolic-contraindication", patient.diastolic)):
        return _f("KD-CI-002", "absolute", f"Blood pressure above {line}",
                  f"Resting blood pressure {bp} is above {line}: treat it before ketamine.", SWISS)
    if th.fires("bp-systolic-caution", patient.systolic):
        caution = th.value("bp-systolic-caution")
        return _f("KD-CI-002", "caution",
                  f"Blood pressure above {caution:g}/{th.value('bp-diastolic-contraindication'):g}",
                  f"Resting blood pressure {bp} exceeds {caution:g} systolic, a common trial "
                  "exclusion: monitor blood pressure closely.",
                  "neuropathic-pain RCT exclusion SBP > 160 and/or DBP > 100 (docs/evidence.md F1)")
    return None


def cardiovascular(patient, ctx):
    """Coronary or myocardial disease (graded), tachyarrhythmia, stroke; recent MI, unstable
    angina and heart failure.

    docs/evidence.md F3, row "severe coronary or myocardial disease; cerebrovascular accident
    (history); cerebral trauma": ABSOLUTE in the UK SmPC ("should not be used"), while "poorly
    controlled cardiovascular disease" is relative in the consensus (Cohen, grade B). Sources
    differ, so both grades are kept: ``:severe`` is absolute, ``:poorly-controlled`` relative,
    ``:stable`` a caution (baseline ECG, Cohen B4); an ungraded record is treated as poorly
    controlled and asked for its grade. A history of stroke is absolute, in the same F3 row as
    cerebral trauma. MI within 6 months, unstable angina and heart failure are cautions (DE
    leaflet, F3 row "MI < 6 months; unstable angina; heart failure").

    FAIL: conditions: ["ischaemic-heart-disease:severe"]
    PASS: conditions: []
    """
    out = []
    for cid, label in (("ischaemic-heart-disease", "ischaemic (coronary) heart disease"),
                       ("myocardial-disease", "myocardial disease")):
        c = patient.has(cid)
        if c is None:
            continue
        if c.grade == "severe":
            out += _f("KD-CI-003", "absolute", "Severe coronary or myocardial disease",
                      f"Severe {label}: ketamine should not be used (UK SmPC); no override.",
                      f"{UK} (docs/evidence.md F3)")
        elif c.grade == "stable":
            out += _f("KD-CI-003", "caution", "Stable cardiovascular disease",
                      f"Stable {label}: ketamine raises blood pressure and heart rate; get a "
                      "baseline ECG and monitor blood pressure and heart rate.",
                      f"{COHEN} (relative only when poorly controlled; baseline ECG, B4)")
        else:
            out += _f("KD-CI-003", "relative", "Cardiovascular disease",
                      f"{label[0].upper()}{label[1:]}"
                      + (" (poorly controlled)" if c.grade else " (grade not recorded: treated as "
                         "poorly controlled)")
                      + ": ketamine raises blood pressure and heart rate; do not proceed unless a "
                      "clinician records why; get a baseline ECG.", f"{COHEN}; {UK}")
            if c.grade is None:
                out.append(Missing(f"How severe is the {label} "
                                   f"({ask('condition_grade', ctx, cid=cid)})?"))
    if patient.has("tachyarrhythmia"):
        out += _f("KD-CI-003", "relative", "Cardiovascular disease",
                  "Patient has tachyarrhythmia: ketamine raises heart rate; do not proceed unless "
                  "it is well controlled and a clinician records why; get a baseline ECG.", COHEN)
    if patient.has("cerebrovascular-accident"):
        out += _f("KD-CI-003", "absolute", "History of stroke",
                  "History of cerebrovascular accident: ketamine should not be used (UK SmPC; "
                  "the Swiss label names a previous stroke among the conditions where a rise in "
                  "blood pressure is a serious hazard); no override.",
                  f"{UK}; {SWISS} (docs/evidence.md F3, C4)")
    for cid, label in {"recent-myocardial-infarction": "a myocardial infarction within 6 months",
                       "unstable-angina": "unstable angina", "heart-failure": "heart failure"}.items():
        if patient.has(cid):
            out += _f("KD-CI-003", "caution", "Cardiovascular disease",
                      f"Patient has {label}: use with caution, with continuous ECG and blood "
                      "pressure monitoring.", DE_PIL)
    return out


def pressure(patient, ctx):
    """Raised intracranial or intraocular pressure (glaucoma), head injury.

    The consensus: with elevated ICP or IOP ketamine "should not be used or used only in lower
    dosages with extreme caution" (grade C); the UK SmPC: not after cerebral trauma. Sources
    disagree (Wang 2014 meta-analysis, PMID 24859931, found ICP not increased vs opioids).
    Glaucoma is raised intraocular pressure: relative, as docs/evidence.md F3 group it ("Raised ICP or
    IOP (glaucoma, open globe)": avoid); the German leaflet lists it as a caution.

    FAIL: conditions: [raised-intracranial-pressure]
    PASS: conditions: []
    """
    out = []
    for cid, label, sev, src in (
            ("raised-intracranial-pressure", "raised intracranial pressure", "relative", COHEN),
            ("raised-intraocular-pressure", "raised intraocular pressure", "relative", COHEN),
            ("head-injury", "a head injury (cerebral trauma)", "absolute", UK),
            ("glaucoma", "glaucoma (raised intraocular pressure)", "relative",
             f"{COHEN} (docs/evidence.md F3: raised ICP or IOP, glaucoma); {DE_PIL}")):
        if patient.has(cid):
            out += _f("KD-CI-004", sev, "Raised intracranial or intraocular pressure",
                      f"Patient has {label}: avoid ketamine, or use lower doses with extreme "
                      "caution (sources differ on the size of the risk)"
                      + ("; no override." if sev == "absolute" else
                         "; do not proceed unless a clinician records why."), src)
    return out


def psychiatric(patient, ctx):
    """Active psychosis (relative), schizophrenia or bipolar disorder (caution).

    FAIL: conditions: [active-psychosis]
    PASS: conditions: []
    """
    out = []
    if patient.has("active-psychosis"):
        out += _f("KD-CI-005", "relative", "Active psychosis",
                  "Active or poorly controlled psychosis: ketamine should be avoided (consensus, "
                  "grade B); do not proceed unless a psychiatrist agrees and the reason is recorded.",
                  COHEN)
    for cid in ("schizophrenia", "bipolar-disorder"):
        if patient.has(cid):
            out += _f("KD-CI-005", "caution", "Severe psychiatric illness",
                      f"Patient has {cid.replace('-', ' ')}: psychotomimetic effects are more "
                      "likely; monitor mental state during and after every session.", DE_PIL)
    return out


def substance_use(patient, ctx):
    """Active substance use or ketamine misuse: no serial infusions.

    FAIL: conditions: [ketamine-misuse]
    PASS: conditions: []
    """
    out = []
    for cid, label in (("substance-use-disorder", "an active substance-use disorder"),
                       ("ketamine-misuse", "ketamine misuse")):
        if patient.has(cid):
            out += _f("KD-CI-006", "relative", "Substance use",
                      f"Patient has {label}: serial ketamine infusions should not be undertaken "
                      "(consensus, grade C); watch for diversion and misuse.", COHEN)
    if patient.has("alcohol-use-disorder"):
        out += _f("KD-CI-006", "caution", "Chronic alcohol misuse",
                  "Chronic alcohol misuse: use with caution and check liver tests before and after "
                  "the course.", f"{UK}; {COHEN} (alcohol abuse -> consider liver tests)")
    return out


def pregnancy(patient, ctx):
    """Pregnancy (relative), pre-eclampsia or eclampsia (absolute), breastfeeding (info).

    FAIL: pregnant: true
    PASS: pregnant: false
    """
    out = []
    if patient.has("pre-eclampsia"):
        out += _f("KD-CI-007", "absolute", "Pre-eclampsia or eclampsia",
                  "Pre-eclampsia or eclampsia: do not give ketamine.", f"{UK}; {SWISS}")
    if patient.sex != "male":
        if patient.pregnant is None:
            out.append(Missing(f"Is the patient pregnant ({ask('pregnant', ctx)})?"))
        elif patient.pregnant:
            out += _f("KD-CI-007", "relative", "Pregnancy",
                      "Pregnant: ketamine is not recommended (safe use not established, label 8.1; "
                      "relative contraindication in the consensus); do not proceed unless a "
                      "clinician records why.", f"{COHEN}; US Ketalar label 8.1")
        if patient.breastfeeding:
            out += _f("KD-CI-007", "info", "Breastfeeding",
                      "Breastfeeding: the relative infant dose is low (0.65-0.77%); monitor the "
                      "infant for sedation.", "LactMed via drugs.com (15 Jul 2023), docs/evidence.md C1")
    if patient.conditions is None:  # pre-eclampsia is one of the conditions
        out.append(Missing(CONDITIONS_QUESTION.replace("{answer}", ask("conditions", ctx))))
    return out


def age(patient, ctx):
    """Under 18 (relative: outside every template's adult population, docs/evidence.md F3 "Age < 18:
    SOFT"), under 3 also the label's 5.5 warning; over 65 (info).

    FAIL: age: 16
    PASS: age: 45
    """
    if patient.age is None:
        return Missing(f"How old is the patient ({ask('age', ctx)})?")
    out = []
    th = ctx.th
    if th.fires("adult-age", patient.age):
        out += _f("KD-CI-008", "relative", f"Under {th.value('adult-age'):g}",
                  f"Age {patient.age}: outside the adult populations every template comes from "
                  "(paediatric data are observational); do not proceed unless a paediatric pain "
                  "team agrees and the reason is recorded.",
                  "docs/evidence.md F3 (age < 18: soft); Sheehy KA et al. BMC Pediatr 2015;15:198, "
                  "PMID 26620833")
    if th.fires("neurodevelopment-age", patient.age):
        young = th.value("neurodevelopment-age")
        out += _f("KD-CI-008", "caution", f"Under {young:g}: neurodevelopment warning",
                  f"Age {patient.age}: anaesthetic and sedation drugs given for more than 3 h, or "
                  f"repeatedly, to children under {young:g} may affect brain development; weigh "
                  "the benefit of every exposure.",
                  "US Ketalar label 5.5 (FDA Drug Safety Communication 14 Dec 2016, updated "
                  "27 Apr 2017)")
    if th.fires("older-age", patient.age):
        old = th.value("older-age")
        out += _f("KD-CI-008", "info", f"Over {old:g}",
                  f"Age {patient.age}: a dose reduction is 'probably prudent' but unsupported by "
                  f"data; emergence reactions are least common over {old:g}.",
                  "Miller's Anesthesia 6th ed.; US Ketalar label 5.2")
    return out


def hepatic(patient, ctx):
    """Hepatic impairment: severe (relative: avoid), moderate (caution, monitor liver tests), mild
    (caution: consider a dose reduction).

    FAIL: conditions: ["hepatic-impairment:severe"]
    PASS: conditions: []
    """
    c = patient.has("hepatic-impairment")
    if c is None:
        return None
    if c.grade is None:
        return Missing(f"How severe is the hepatic impairment ({ask('hepatic_grade', ctx)})?")
    if c.grade == "severe":
        return _f("KD-CI-009", "relative", "Severe hepatic impairment",
                  "Severe hepatic impairment: ketamine should be avoided (consensus, grade C).", COHEN)
    if c.grade == "moderate":
        return _f("KD-CI-009", "caution", "Moderate hepatic impairment",
                  "Moderate hepatic impairment: give judiciously with liver-test monitoring "
                  "(consensus, grade C); consider a lower dose.", COHEN)
    # caution, not info: "consider a dose reduction" asks a clinician to judge
    return _f("KD-CI-009", "caution", "Mild hepatic impairment",
              "Mild hepatic impairment: the SmPC says a dose reduction should be considered; a "
              "clinician must decide.",
              "ketamine SmPC (rxreasoner), docs/evidence.md E")


def liver_tests(patient, ctx):
    """Liver enzymes at 3 x the upper limit of normal or more; previous ketamine liver injury.

    3 x ULN (ALT, AST, ALP or GGT) was the liver-injury signal in Noppers 2011, where 3 of 6
    patients developed hepatotoxicity on a second 100-h course. Each enzyme needs its value and
    the laboratory's upper limit of normal: a value without its ULN is never compared with a
    guess (the rule is not assessed). For a prolonged (> 3 days) or repeated course the whole
    panel is required: a missing enzyme makes the screen incomplete.

    FAIL: liver: {alt: 150 U/L, alt_uln: 45 U/L}
    PASS: liver: {alt: 40 U/L, alt_uln: 45 U/L}
    """
    out = []
    injured = [c for c in patient.previous_courses or () if c.liver_injury]
    if injured:
        out += _f("KD-CI-010", "relative", "Previous ketamine liver injury",
                  f"Liver injury after a previous ketamine course (ended {injured[0].ended}): do "
                  "not repeat ketamine unless a hepatologist agrees and the reason is recorded.",
                  NOPPERS)
    needed = bool(ctx.prolonged()) or bool(patient.previous_courses)
    liver = patient.liver or {}
    if patient.liver is None and needed:
        days = ctx.th.value("prolonged-course-days")
        out.append(Missing(f"Baseline liver tests ({ask('liver', ctx)}): "
                           f"needed for a prolonged (> {days:g} days) or repeated course"))
        return out
    high, missing = [], []
    for test in ("alt", "ast", "alp", "ggt"):
        value, uln = liver.get(test), liver.get(f"{test}_uln")
        if value is not None and uln is not None:
            ratio = value.magnitude(uln.unit.symbol) / uln.value
            # with the limits' tolerance: 75 / 25 U/L is 3 x ULN
            if ctx.th.fires("liver-enzyme-uln-multiple", ratio):
                high.append(f"{test.upper()} {ratio:.1f} x ULN")
        elif value is not None:
            missing.append(f"the upper limit of normal for {test.upper()} "
                           f"({ask('liver_uln', ctx, test=test)}): a value "
                           "is never compared with a guessed limit")
        elif uln is not None or needed:
            missing.append(f"{test.upper()} ({ask('liver_test', ctx, test=test)})")
    if high:
        out += _f("KD-CI-010", "relative",
                  f"Liver enzymes at {ctx.th.value('liver-enzyme-uln-multiple'):g} x ULN or more",
                  f"{', '.join(high)}: the liver-injury signal used by Noppers 2011; do not start "
                  "until explained and a clinician records why.", NOPPERS)
    if missing:
        why = " (the whole panel is needed for a prolonged or repeated course)" if needed else ""
        out.append(Missing(f"Liver tests incomplete{why}: give {'; '.join(missing)}"))
    return out


PORPHYRIA = ("Drug Database for Acute Porphyria (NAPOS, drugs-porphyria.org) classification as "
             "tabulated in Rev Mex Anestesiol 2021 issue 3, Table 1 "
             "(medigraphic.com/files/rma/cma-2021/3/cma213l-T1.html)")


def other_conditions(patient, ctx):
    """Untreated hyperthyroidism (absolute); lower urinary tract symptoms, acute porphyria and
    seizure disorder (caution: a clinician must judge, so never a clear screen).

    Porphyria: ketamine is "possibly porphyrinogenic" (use only when no safer alternative is
    available) in a secondary table adapted from the Drug Database for Acute Porphyria; the
    database's own monograph was not read (UNVERIFIED). Seizure disorder: no source in the basis
    notes grades it; the label reports tonic and clonic movements sometimes resembling seizures
    and forbids theophylline for lowering the seizure threshold (UNVERIFIED grade).

    FAIL: conditions: [hyperthyroidism]
    PASS: conditions: []
    """
    out = []
    if patient.has("hyperthyroidism"):
        out += _f("KD-CI-011", "absolute", "Untreated hyperthyroidism",
                  "Untreated hyperthyroidism: contraindicated in the Swiss and German labels; treat "
                  "it first (once treated and controlled, it no longer applies: correct the "
                  "record); no override.", SWISS)
    if patient.has("lower-urinary-tract-symptoms"):
        out += _f("KD-CI-011", "caution", "Lower urinary tract symptoms",
                  "Lower urinary tract symptoms: cystitis and genitourinary pain are reported with "
                  "chronic or repeated ketamine; review symptoms and stop if they worsen.",
                  "US Ketalar label 2.1 and adverse reactions (genitourinary)")
    if patient.has("porphyria"):
        out.append(Finding(
            "KD-CI-011", "caution",
            "Acute porphyria: ketamine is listed as possibly porphyrinogenic (use only when no safer "
            "alternative is available, with precautions); a clinician must judge, with a "
            "porphyria centre.", PORPHYRIA, title="Acute porphyria",
            unverified="read in a secondary table; the porphyria database's monograph was not read"))
    if patient.has("seizure-disorder"):
        out.append(Finding(
            "KD-CI-011", "caution",
            "Seizure disorder: the label reports tonic and clonic movements sometimes resembling "
            "seizures, and theophylline is forbidden for lowering the seizure threshold; a "
            "clinician must judge.", "US Ketalar label adverse reactions (neurological) and 7.1 "
            "(docs/evidence.md C1)", title="Seizure disorder",
            unverified="no source in docs/evidence.md grades seizure disorder; caution is "
                       "ketadose's choice"))
    return out


def heart_rate(patient, ctx):
    """Resting heart rate under 50 or over 120 beats/min (a trial exclusion range).

    FAIL: heart_rate: 130
    PASS: heart_rate: 72
    """
    if patient.heart_rate is None:
        return Missing(f"What is the resting heart rate ({ask('heart_rate', ctx)})?")
    th = ctx.th
    if th.fires("heart-rate-low", patient.heart_rate) or th.fires("heart-rate-high",
                                                                   patient.heart_rate):
        low, high = th.value("heart-rate-low"), th.value("heart-rate-high")
        return _f("KD-CI-012", "caution", "Heart rate out of range",
                  f"Resting heart rate {patient.heart_rate}/min is outside {low:g}-{high:g}, a "
                  "trial exclusion range: find the cause before starting.",
                  "NCT05803551 exclusion criteria (docs/evidence.md F1)")
    return None


RULES = (
    rule(
        "KD-CI-001", "hypersensitivity", "absolute", LABEL,
        check=allergies_asked(hypersensitivity)),
    rule(
        "KD-CI-002", "blood-pressure", "absolute", f"{LABEL}; {SWISS}",
        check=blood_pressure),
    rule(
        "KD-CI-003", "cardiovascular-disease", "absolute", f"{COHEN}; {UK}; {SWISS}; {DE_PIL}",
        check=conditions_asked(cardiovascular)),
    rule(
        "KD-CI-004", "intracranial-or-intraocular-pressure", "relative", f"{COHEN}; {UK}",
        check=conditions_asked(pressure)),
    rule(
        "KD-CI-005", "psychiatric", "relative", f"{COHEN}; {DE_PIL}",
        check=conditions_asked(psychiatric)),
    rule(
        "KD-CI-006", "substance-use", "relative", COHEN,
        check=conditions_asked(substance_use)),
    rule(
        "KD-CI-007", "pregnancy-and-breastfeeding", "relative",
        f"{COHEN}; US Ketalar label 8.1; {UK}; LactMed (drugs.com, 15 Jul 2023)",
        check=pregnancy),
    rule(
        "KD-CI-008", "age", "relative", "docs/evidence.md F3; Sheehy KA et al. BMC Pediatr 2015;15:198, "
        "PMID 26620833; US Ketalar label 5.5; Miller's Anesthesia 6th ed.; US Ketalar label 5.2",
        check=age),
    rule(
        "KD-CI-009", "hepatic-impairment", "relative", f"{COHEN}; Ketalar SmPC (rxreasoner)",
        check=conditions_asked(hepatic)),
    rule(
        "KD-CI-010", "liver-tests", "relative", NOPPERS,
        check=liver_tests),
    rule(
        "KD-CI-011", "thyroid-porphyria-seizures-urinary", "absolute",
        f"{SWISS}; US Ketalar label 2.1, 7.1 and adverse reactions; {PORPHYRIA}",
        check=conditions_asked(other_conditions)),
    rule(
        "KD-CI-012", "vital-signs", "caution", "NCT05803551 exclusion criteria (docs/evidence.md F1)",
        check=heart_rate),
)


# The patient fields each rule reads (screen.Memo remembers outcomes by their values; a rule
# that reads a field not listed here is caught there, and its outcome is not remembered).
READS = {
    "KD-CI-001": ("allergies",),
    "KD-CI-002": ("conditions", "systolic", "diastolic"),
    "KD-CI-003": ("conditions",),
    "KD-CI-004": ("conditions",),
    "KD-CI-005": ("conditions",),
    "KD-CI-006": ("conditions",),
    "KD-CI-007": ("conditions", "sex", "pregnant", "breastfeeding"),
    "KD-CI-008": ("age",),
    "KD-CI-009": ("conditions",),
    "KD-CI-010": ("previous_courses", "liver"),
    "KD-CI-011": ("conditions",),
    "KD-CI-012": ("heart_rate",),
}
