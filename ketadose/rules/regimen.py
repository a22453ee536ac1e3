"""Regimen consistency rules (KD-V010...): a file of the right shape that still does not
make sense as a regimen. Each check takes (regimen, library, substances) and returns findings:
the limit library and the allergy vocabulary's substance matcher (allergies.Matcher) come from
validate()'s caller, as the screen's vocabulary does (the rules read no file)."""

from __future__ import annotations

import math
import re
import unicodedata

from ketadose.findings import Finding
from ketadose.rules import rule
from ketadose.rules.sources import COHEN
from ketadose.units import OverTime

_FMT = "ketadose regimen format v1 (docs/regimen-format.md)"


def _phase_path(p, key=None):
    return ("schedule", "phases", p.index) + ((key,) if key else ())


def weight_basis(regimen, library, substances):
    """A per-kg dose needs the regimen to state its weight basis.

    No silent default: actual, ideal and adjusted weight give different doses.

    FAIL:
        rate: 0.35 mg/kg/h      # and no weight_basis
    PASS:
        weight_basis: actual
    """
    if regimen.weight_based() and not regimen.weight_basis:
        return [Finding("KD-V010", "error", "the regimen doses per kg but does not say which "
                        "weight: add weight_basis: actual | ideal | adjusted", _FMT, ())]
    return []


ROUTE_KINDS = {
    "iv": {"infusion", "bolus", "titration", "escalation"},
    "sc": {"infusion", "escalation", "titration"},
    "oral": {"oral"},
    "topical": {"topical"},
}


def phase_route(regimen, library, substances):
    """A phase kind that the regimen's route cannot deliver.

    FAIL:
        route: oral
        phases: [{kind: infusion, ...}]
    PASS:
        route: oral
        phases: [{kind: oral, dose: 0.5 mg/kg, times_per_day: 3, ...}]
    """
    allowed = ROUTE_KINDS[regimen.route]
    return [Finding("KD-V011", "error", f"{'an' if p.kind[0] in 'aeiou' else 'a'} {p.kind} "
                    f"phase cannot be given by the "
                    f"{regimen.route} route (allowed: {', '.join(sorted(allowed))})", _FMT,
                    _phase_path(p, "kind"))
            for p in regimen.phases if p.kind not in allowed]


def schedule_length(regimen, library, substances):
    """The phases do not fit the schedule.

    A daily session must last under 24 h; a continuous session must end on the
    last day of the course (days = hours / 24, rounded up).

    FAIL:
        pattern: continuous
        days: 3
        phases: [{duration: 100 h, ...}]     # 100 h needs 5 days
    PASS:
        days: 5
    """
    hours = regimen.session_hours()
    if hours is None:
        return []
    if regimen.pattern == "daily" and hours > 24:
        return [Finding("KD-V012", "error", f"a daily session of {hours:g} h is longer than a day; "
                        "use pattern: continuous", _FMT, ("schedule", "pattern"))]
    if regimen.pattern == "continuous":
        need = math.ceil(hours / 24 - 1e-9)
        if need != regimen.days:
            return [Finding("KD-V012", "error", f"the continuous phases last {hours:g} h, which "
                            f"spans {need} day(s), but days is {regimen.days}", _FMT,
                            ("schedule", "days"))]
    return []


def infusion_dose_form(regimen, library, substances):
    """An infusion needs either a rate with a duration, or a fixed dose 'N mg over T h'.

    FAIL:
        rate: 16 mg/h
        dose: 80 mg over 5 h     # both: which one is meant?
    PASS:
        dose: 80 mg over 5 h
    """
    out = []
    for p in regimen.phases:
        if p.kind != "infusion":
            continue
        if (p.rate is None) == (p.dose is None):
            out.append(Finding("KD-V013", "error", f"phase {p.name!r} needs exactly one of rate "
                               "(with duration) or dose ('N mg over T h')", _FMT, _phase_path(p)))
        elif p.rate is not None and p.duration is None:
            out.append(Finding("KD-V013", "error", f"phase {p.name!r} has a rate but no duration",
                               _FMT, _phase_path(p)))
        elif p.dose is not None and p.duration is not None:
            out.append(Finding("KD-V013", "error", f"phase {p.name!r}: the dose already says how "
                               "long ('over'); remove duration", _FMT, _phase_path(p, "duration")))
    return out


def titration_order(regimen, library, substances):
    """Titration and escalation steps must rise: start < max, steps in increasing order.

    An escalation's hold (time at the step reached, counted from the day it is
    reached) must be at least one step long.

    FAIL:
        start: 7.2 mcg/kg/min
        max: 1.2 mcg/kg/min
    PASS:
        start: 1.2 mcg/kg/min
        max: 7.2 mcg/kg/min
    """
    out = []
    for p in regimen.phases:
        if p.kind == "titration":
            if p.start.kind != p.max.kind or (p.step is not None and p.step.kind != p.max.kind):
                out.append(Finding("KD-V014", "error", f"phase {p.name!r}: start, step and max must "
                                   "all be per kg or all absolute", _FMT, _phase_path(p)))
            elif p.start.canonical() >= p.max.canonical():
                out.append(Finding("KD-V014", "error", f"phase {p.name!r}: start {p.start} is not "
                                   f"below max {p.max}", _FMT, _phase_path(p, "max")))
            elif p.step is not None and \
                    p.step.canonical() > p.max.canonical() - p.start.canonical() + 1e-12:
                out.append(Finding("KD-V014", "error", f"phase {p.name!r}: one step {p.step} "
                                   f"overshoots max {p.max}", _FMT, _phase_path(p, "step")))
            elif p.step is not None and (p.max.canonical() - p.start.canonical()) \
                    / p.step.canonical() > MAX_TITRATION_STEPS:
                out.append(Finding("KD-V014", "error", f"phase {p.name!r}: steps of {p.step} from "
                                   f"{p.start} to {p.max} are more than {MAX_TITRATION_STEPS} steps; "
                                   "is the step's unit right?", _FMT, _phase_path(p, "step")))
        if p.kind == "oral" and p.max_daily is not None:
            if p.max_daily.unit.per_kg != p.dose.unit.per_kg:
                out.append(Finding("KD-V014", "error", f"phase {p.name!r}: dose and max_daily must "
                                   "both be per kg or both absolute", _FMT,
                                   _phase_path(p, "max_daily")))
            elif p.max_daily.magnitude("mg/kg/day" if p.dose.unit.per_kg else "mg/day") < \
                    p.dose.magnitude("mg/kg" if p.dose.unit.per_kg else "mg") * p.times_per_day \
                    * (1 - 1e-12):
                out.append(Finding("KD-V014", "error", f"phase {p.name!r}: max_daily "
                                   f"{p.max_daily} is below the starting daily dose ({p.dose} x "
                                   f"{p.times_per_day})", _FMT, _phase_path(p, "max_daily")))
        if p.kind == "escalation":
            values = [(s.kind, s.canonical()) for s in p.steps]
            if len({k for k, _ in values}) > 1 or any(
                    b[1] <= a[1] for a, b in zip(values, values[1:])):
                out.append(Finding("KD-V014", "error", f"phase {p.name!r}: escalation steps must "
                                   "rise and share one kind of unit", _FMT, _phase_path(p, "steps")))
            elif p.hold.canonical() < p.step_duration.canonical():
                out.append(Finding("KD-V014", "error", f"phase {p.name!r}: hold ({p.hold}) is "
                                   f"shorter than one step ({p.step_duration})", _FMT,
                                   _phase_path(p, "hold")))
    return out


MAX_TITRATION_STEPS = 200  # a resource bound; real titrations have a handful of steps

_PHASE_NUMBERS = ("rate", "dose", "duration", "max_rate", "over", "max_dose", "max_daily",
                  "start", "step",
                  "max", "step_every", "steps", "step_duration", "hold", "times_per_day",
                  "strength", "applications_per_day", "amount")


def unverified_fields(regimen, library, substances):
    """An 'unverified' note must name a number that the phase actually has.

    FAIL:
        rate: 0.35 mg/kg/h
        unverified: {max: "..."}      # there is no max
    PASS:
        unverified: {rate: "not in the abstract (docs/evidence.md G2)"}
    """
    out = []
    for p in regimen.phases:
        for key in p.unverified:
            if key not in _PHASE_NUMBERS or getattr(p, key) in (None, ()):
                out.append(Finding("KD-V015", "error", f"phase {p.name!r}: unverified names "
                                   f"{key!r}, which this phase does not have", _FMT,
                                   _phase_path(p, "unverified") + (key,), at_key=True))
    return out


def primary_evidence(regimen, library, substances):
    """A template needs at least one evidence entry with role: primary.

    FAIL:
        evidence: [{role: background, ...}]
    PASS:
        evidence: [{role: primary, citation: "Schwartzman RJ et al. Pain 2009", pmid: 19783371, ...}]
    """
    if any(e.role == "primary" for e in regimen.evidence):
        return []
    return [Finding("KD-V016", "error", "no evidence entry has role: primary; which source does "
                    "this regimen reproduce?", _FMT, ("evidence",))]


_LABEL_21 = ("US Ketalar label section 2.1: vital signs monitored continuously, emergency airway "
             "equipment immediately available (docs/evidence.md C1)")
_SC_HOME = ("continuous SC ketamine by syringe driver in palliative care: Jackson 2001, PMID "
            "11576800; Hardy 2012, PMID 22965960 (supervised; docs/evidence.md A4)")


def iv_at_home(regimen, library, substances):
    """An IV regimen cannot be given at home.

    The label requires continuous monitoring of vital signs and airway equipment at hand
    (section 2.1); no home IV ketamine protocol is in docs/evidence.md.

    FAIL:
        route: iv
        setting: home
    PASS:
        route: iv
        setting: monitored-outpatient
    """
    if regimen.route == "iv" and regimen.setting == "home":
        return [Finding("KD-V021", "error", "an IV regimen cannot have setting: home: IV "
                        "ketamine needs continuous vital-sign monitoring and airway equipment at "
                        "hand (label 2.1); use monitored-outpatient, inpatient or icu", _LABEL_21,
                        ("setting",))]
    return []


def sc_at_home(regimen, library, substances):
    """A subcutaneous infusion at home must be confirmed with its source.

    Palliative syringe drivers do run at home, but the SC regimens in docs/evidence.md were
    supervised (audit and trial settings). The regimen confirms with a reason and source:
    confirm: {KD-V022: "..."}.

    FAIL (warning):
        route: sc
        setting: home
    PASS:
        confirm: {KD-V022: "community palliative care syringe driver, daily nurse visits (source)"}
    """
    if regimen.route != "sc" or regimen.setting != "home":
        return []
    reason = regimen.confirm.get("KD-V022")
    if reason:
        return [Finding("KD-V022", "info", f"SC infusion at home; confirmed: {reason}", _SC_HOME,
                        ("setting",))]
    return [Finding("KD-V022", "warning", "an SC infusion at home needs a confirmation with its "
                    "source (confirm: {KD-V022: \"...\"}): the SC regimens in the evidence were "
                    "supervised", _SC_HOME, ("setting",))]


_SLIP = ("dose-unit sanity (docs/evidence.md F2, section 0): the review article's '22.2 mg/hr/kg' was "
         "22.2 mg/h per 70 kg (Sigtermans 2009, PMID 19604642)")
SLIP_MG_H_BELOW = 1.0  # docs/evidence.md F2: an "mg/h" value < 1 is likely a unit error
SLIP_MG_KG_H_ABOVE = 5.0  # ... and an "mg/kg/h" value > 5


def unit_slip(regimen, library, substances):
    """A rate plausible only with the other unit: mg/h below 1 (a per-kg rate missing its /kg)
    or mg/kg/h above 5 (a per-hour rate given a /kg).

    FAIL (warning):
        rate: 0.35 mg/h        # 0.35 mg/kg/h would be 24.5 mg/h at 70 kg
    PASS:
        rate: 0.35 mg/kg/h
    """
    out = []
    for p in regimen.phases:
        for key in ("rate", "start", "max", "steps", "dose"):  # a step of 0.5 mg/h is plausible
            values = getattr(p, key, None)
            for q in (values if isinstance(values, tuple) else (values,)):
                if q is None or isinstance(q, OverTime) or q.kind not in ("rate", "rate_per_kg"):
                    continue
                if q.kind == "rate" and q.magnitude("mg/h") < SLIP_MG_H_BELOW:
                    intended = f"{q.value:g} {q.unit.symbol.replace('mg/', 'mg/kg/', 1)}"
                    out.append(Finding("KD-V023", "warning", f"phase {p.name!r}: {key} {q} is "
                                       f"below 1 mg/h, plausible only per kg: did you mean "
                                       f"{intended} (= {q.value * 70:g} mg/h at 70 kg)?", _SLIP,
                                       _phase_path(p, key)))
                elif q.kind == "rate_per_kg" and q.magnitude("mg/kg/h") > SLIP_MG_KG_H_ABOVE:
                    per_70 = q.magnitude("mg/kg/h") / 70.0
                    out.append(Finding("KD-V023", "warning", f"phase {p.name!r}: {key} {q} is "
                                       f"above 5 mg/kg/h, plausible only as an absolute rate: did "
                                       f"you mean {q.magnitude('mg/kg/h'):g} mg/h (= "
                                       f"{per_70:.3g} mg/kg/h at 70 kg)?", _SLIP,
                                       _phase_path(p, key)))
    return out


# Rules a regimen may confirm with a reason (besides the soft limits of the library).
CONFIRMABLE = ("KD-V022",)


def confirm_known(regimen, library, substances):
    """'confirm' may only name soft limits of the library (hard limits have no override).

    FAIL:
        confirm: {KD-LIM-999: "..."}
    PASS:
        confirm: {KD-LIM-101: "Sigtermans 2009 titrated up to 7.2 mcg/kg/min"}
    """
    out = []
    for rule_id, reason in regimen.confirm.items():
        lim = library.by_id(rule_id)
        if lim is None and rule_id not in CONFIRMABLE:
            out.append(Finding("KD-V017", "error", f"confirm names {rule_id!r}, which is not a "
                               "limit in the library (see `ketadose limits`)", _FMT,
                               ("confirm", rule_id), at_key=True))
        elif len(reason.strip()) < 10:
            out.append(Finding("KD-V017", "error", f"the reason confirming {rule_id} is too short "
                               "to tell a clinician why", _FMT, ("confirm", rule_id)))
    return out


# The ways a title names the S-enantiomer: esketamine (Esketamin), S-ketamine written with the
# stereo prefix as chemists and papers do ((S)-, S(+)-, S-(+)-, S+, S ketamine, any dash), and the
# brands Ketanest (S) and Spravato. Review 25: "(S)-ketamine", "S-(+)-ketamine", "S(+) ketamine",
# "S-Ketamin" and "S–ketamine" (an en dash) passed under drug: racemic-ketamine. The S must
# stand alone: "patients ketamine" or "Children's ketamine" are no prefix; (R,S)- is racemic.
_ESKETAMINE_WORDS = re.compile(
    r"(?<![\w'’])(?:es-?ketamin|\(?s\)?[\s-]*(?:\(\+\)|\+)?[\s-]*ketamin|ketanest|spravato)")
_RACEMIC_PREFIX = re.compile(r"\(?\s*r\s*[,/]\s*s\s*\)?")


def names_esketamine(title: str) -> bool:
    """Whether a title names esketamine (KD-V018): case, accents and dash forms ignored."""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = "".join("-" if unicodedata.category(c) == "Pd" else c for c in text)
    return bool(_ESKETAMINE_WORDS.search(_RACEMIC_PREFIX.sub("rs", text)))


def drug_form_mismatch(regimen, library, substances):
    """The title names esketamine but the drug is racemic ketamine, or the reverse.

    Esketamine is about twice as potent as the racemate; a mix-up doubles or halves the dose.

    FAIL:
        title: S-ketamine infusion
        drug: racemic-ketamine
    PASS:
        drug: esketamine
    """
    says_s = names_esketamine(regimen.title)
    if says_s != (regimen.drug == "esketamine"):
        return [Finding("KD-V018", "error", f"the title says {'esketamine' if says_s else 'racemic '}"
                        f"{'' if says_s else 'ketamine'} but drug is {regimen.drug}; esketamine is "
                        "about twice as potent: check which form is meant", _FMT, ("drug",))]
    return []


def low_session(regimen, library, substances):
    """An IV session of a fixed amount under 80 mg or no longer than 2 h: likely subtherapeutic.

    The consensus recommends at least 80 mg infused over more than 2 h (efficacy, not safety).

    FAIL (info):
        dose: 40 mg over 1 h
    PASS:
        dose: 80 mg over 5 h
    """
    if regimen.route != "iv" or regimen.pattern != "daily":
        return []
    out = []
    for p in regimen.phases:
        if p.kind == "infusion" and isinstance(p.dose, OverTime) and not p.dose.amount.unit.per_kg:
            mg, h = p.dose.amount.canonical(), p.dose.duration.canonical()
            if mg < 80 or h <= 2:
                out.append(Finding("KD-V020", "info", f"phase {p.name!r} gives {mg:g} mg over {h:g} h; "
                                   "the consensus minimum for chronic pain is 80 mg over more than 2 h",
                                   COHEN, _phase_path(p, "dose")))
    return out


def ketamine_adjunct(regimen, library, substances):
    """An adjunct that is ketamine itself (any form, salt or brand).

    Ketamine belongs in the schedule's phases, where every dose limit and every total applies;
    an adjunct's dose is free text checked against none of them (review 25: 500 mg IV Ketalar
    as an adjunct validated and planned with the session shown as 100 mg). Names are read as
    an allergy is: the ketamine family of the vocabulary's substances.

    FAIL:
        adjuncts: [{name: Ketalar, dose: 500 mg, route: iv, ...}]
    PASS:
        adjuncts: [{name: midazolam, dose: 2 mg, route: iv, ...}]
    """
    # ``substances`` (the caller's vocabulary: the shipped one) is the one list of ketamine
    # names, the same the allergy screen uses; a copy here could fall behind it.
    return [Finding("KD-V024", "error", f"adjunct {a.name!r} is ketamine: give ketamine in the "
                    "schedule's phases, where the dose limits and the session, daily and course "
                    "totals apply (an adjunct's dose is checked against none of them)", _FMT,
                    ("adjuncts", i, "name"))
            for i, a in enumerate(regimen.adjuncts)
            if any(substances.is_ketamine(s) for s in substances.match(a.name))]


# Shape rules run first: the others assume every phase has a complete dose and duration.
SHAPE_RULES = (
    rule("KD-V013", "infusion-dose-form", "error", _FMT, check=infusion_dose_form),
    rule("KD-V014", "titration-order", "error", _FMT, check=titration_order),
)
RULES = SHAPE_RULES + (
    rule("KD-V010", "weight-basis-required", "error", _FMT, check=weight_basis),
    rule("KD-V011", "phase-route", "error", _FMT, check=phase_route),
    rule("KD-V012", "schedule-length", "error", _FMT, check=schedule_length),
    rule(
        "KD-V015", "unverified-names-a-field", "error", _FMT,
        check=unverified_fields),
    rule("KD-V016", "primary-evidence", "error", _FMT, check=primary_evidence),
    rule("KD-V017", "confirm-names-a-soft-limit", "error", _FMT, check=confirm_known),
    rule("KD-V018", "drug-form-mismatch", "error", _FMT, check=drug_form_mismatch),
    rule("KD-V020", "session-below-consensus-minimum", "info", COHEN, check=low_session),
    rule("KD-V021", "iv-at-home", "error", _LABEL_21, check=iv_at_home),
    rule("KD-V022", "sc-at-home", "warning", _SC_HOME, check=sc_at_home),
    rule("KD-V023", "unit-slip", "warning", _SLIP, check=unit_slip),
    rule("KD-V024", "ketamine-as-adjunct", "error", _FMT, check=ketamine_adjunct),
)
