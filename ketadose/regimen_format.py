"""Regimen format v1: the one description behind the checker, the JSON Schema and the docs.

docs/regimen-format.md is written from this module (`ketadose schema regimen --format
markdown`, ketadose/render/format_doc.py): change a key, a description or the guide's prose here.
"""

from __future__ import annotations

from ketadose.spec import Field, Node

FORMAT_VERSION = 1

DRUGS = ("racemic-ketamine", "esketamine")
ROUTES = ("iv", "sc", "oral", "topical")
SETTINGS = ("inpatient", "monitored-outpatient", "home", "icu")
WEIGHT_BASES = ("actual", "ideal", "adjusted")
PATTERNS = ("daily", "continuous")
DESIGNS = ("rct", "rct-protocol", "open-label", "case-series", "case-report", "retrospective",
           "meta-analysis", "guideline", "review", "preclinical", "pk-pd")
RESULTS = ("positive", "negative", "mixed", "not-applicable")
ROLES = ("primary", "supporting", "background")
ADJUNCT_ROUTES = ("iv", "sc", "im", "oral", "sublingual", "topical")

TEXT = Node("text")
SOURCE = Node("text", doc="Where the numbers come from (authors, year, PMID); a placeholder "
                          "such as TODO, TBD or ? is refused", citation=True)
ID_PATTERN = r"[a-z0-9][a-z0-9-]*"

RATE = ("rate", "rate_per_kg")
DOSE = ("mass", "mass_per_kg")


def _q(kinds, doc=""):
    return Node("quantity", doc=doc, kinds=kinds)


_COMMON_PHASE = (
    Field("name", Node("text", doc="Short name shown in plans, e.g. 'infusion'"), True),
    Field("kind", Node("enum", enum=("infusion", "bolus", "titration", "escalation", "oral",
                                     "topical"))),
    Field("source", Node("text", doc="Where every number of this phase comes from "
                                     "(authors, year, PMID)", citation=True), True),
    Field("unverified", Node("map", item=TEXT, doc="Fields whose number docs/evidence.md marks "
                                                   "UNVERIFIED -> why; each named field must exist "
                                                   "in the phase (KD-V015); shown to clinicians "
                                                   "as UNVERIFIED")),
    Field("notes", TEXT),
)

PHASE = Node(
    "object", doc="One phase of a session; `kind` says which keys it takes",
    fields=_COMMON_PHASE, discriminator="kind",
    variant_docs={
        "infusion": "`rate` + `duration`, or `dose: N mg over T h` (KD-V013). Schwartzman 2009: "
                    "`rate: 0.35 mg/kg/h`, `max_rate: 25 mg/h`, `duration: 4 h`; Amr 2010: "
                    "`dose: 80 mg over 5 h`.",
        "bolus": "Boluses are modelled as short infusions: `dose: 0.35 mg/kg`, `over: 1 min`.",
        "titration": "`start`, `max` and `step` all per kg or all absolute (KD-V014). "
                     "Sigtermans 2009: `start: 1.2 mcg/kg/min`, `max: 7.2 mcg/kg/min`, "
                     "`duration: 100 h`.",
        "escalation": "Rising rates, each held for `step_duration`; the course lasts from `hold` "
                      "to (steps - 1) x `step_duration` + `hold`. Burst: `steps: [100 mg/day, "
                      "300 mg/day, 500 mg/day]`, `step_duration: 24 h`, `hold: 3 day` (3-5 days).",
        "oral": "`dose: 0.5 mg/kg`, `times_per_day: 3`.",
        "topical": "`strength: 10%`, `applications_per_day: 3`.",
    },
    variants={
        "infusion": (
            Field("rate", _q(RATE, "Infusion rate (give rate or dose)")),
            Field("dose", _q(("amount_over_time",), "Fixed amount over a time, e.g. '80 mg over 5 h'")),
            Field("duration", _q(("duration",), "How long the phase runs (with rate)")),
            Field("max_rate", _q(("rate",), "Absolute cap applied before pump rounding")),
            Field("conditional", Node("text", doc="Criteria that must hold for this phase"))),
        "bolus": (
            Field("dose", _q(DOSE, "Bolus dose, mg or mg/kg"), True),
            Field("over", _q(("duration",), "Given over (boluses are short infusions)"), True),
            Field("max_dose", _q(("mass",), "Absolute cap on the bolus"))),
        "titration": (
            Field("start", _q(RATE, "Starting rate"), True),
            Field("step", _q(RATE, "Increment per step, where the source gives one")),
            Field("max", _q(RATE, "Highest rate the titration may reach"), True),
            Field("step_every", _q(("duration",), "Minimum time between steps")),
            Field("duration", _q(("duration",), "Length of the titrated infusion"), True),
            Field("max_rate", _q(("rate",), "Absolute cap applied before pump rounding")),
            Field("titrate_to", Node("text", doc="Criteria for stepping up or down"), True)),
        "escalation": (
            Field("steps", Node("list", item=_q(RATE), min_items=1, max_items=12,
                                doc="Rates in order, e.g. [100 mg/day, 300 mg/day]"), True),
            Field("step_duration", _q(("duration",), "Time at each step before assessment"), True),
            Field("escalate_if", Node("text", doc="Criteria to move to the next step"), True),
            Field("hold", _q(("duration",), "Time at the effective or maximum tolerated step, "
                                            "counted from the day it is reached"), True),
            Field("max_rate", _q(("rate",), "Absolute cap applied before pump rounding"))),
        "oral": (
            Field("dose", _q(DOSE, "Dose per intake, mg or mg/kg"), True),
            Field("times_per_day", Node("integer", minimum=1, maximum=6), True),
            Field("titrate", Node("text", doc="How the dose is adjusted")),
            Field("max_dose", _q(("mass",), "Absolute cap per intake")),
            Field("max_daily", _q(RATE, "Highest daily dose the titration may reach, e.g. "
                                        "'3 mg/kg/day'; course maxima use it"))),
        "topical": (
            Field("strength", _q(("percent",), "Strength, % w/v or w/w"), True),
            Field("applications_per_day", Node("integer", minimum=1, maximum=6), True),
            Field("amount", _q(("mass", "volume"), "Amount of product per application")),
            Field("site", Node("text", doc="Where it is applied"))),
    },
)

ADJUNCT = Node("object", doc="A medicine given with the regimen (e.g. a benzodiazepine for "
                               "psychotomimetic effects); screened for interactions", fields=(
    Field("name", Node("text", doc="Generic name"), True),
    Field("dose", _q(("mass",), "Dose per administration"), True),
    Field("route", Node("enum", enum=ADJUNCT_ROUTES), True),
    Field("timing", Node("text", doc="When and how often"), True),
    Field("source", SOURCE, True),
    Field("unverified", Node("map", item=TEXT)),
    Field("notes", TEXT),
))

MONITORING = Node("object", fields=(
    Field("what", TEXT, True), Field("when", TEXT, True), Field("source", SOURCE, True),
    Field("unverified", Node("map", item=TEXT)),
))

STOP_RULE = Node("object", fields=(
    Field("when", TEXT, True), Field("action", TEXT, True), Field("source", SOURCE, True),
    Field("unverified", Node("map", item=TEXT)),
))

EVIDENCE = Node("object", fields=(
    Field("citation", TEXT, True),
    Field("pmid", Node("integer", minimum=1, nullable=True,
                       doc="PubMed id; null for a source without one (give `doi`)"), True),
    Field("doi", TEXT),
    Field("design", Node("enum", enum=DESIGNS), True),
    Field("n", Node("integer", minimum=1, nullable=True), True),
    Field("result", Node("enum", enum=RESULTS), True),
    Field("role", Node("enum", enum=ROLES, doc="primary: the source the regimen reproduces "
                                              "(at least one is required, KD-V016)"), True),
    Field("notes", TEXT),
))

SCHEDULE = Node("object", doc="How the course runs: its pattern, length and phases", fields=(
    Field("pattern", Node("enum", enum=PATTERNS,
                          doc="daily: one session a day; continuous: one session spanning days"),
          True),
    Field("days", Node("integer", minimum=1, maximum=366,
                       doc="Course length in days; for `continuous`, the phases' hours / 24 "
                           "rounded up (KD-V012)"), True),
    Field("phases", Node("list", item=PHASE, min_items=1, max_items=20,
                         doc="The phases of one session, in order (see Phases)"), True),
    Field("source", Node("text", doc="Where the schedule comes from", citation=True), True),
    Field("unverified", Node("map", item=TEXT)),
))

PREPARATION = Node("object", doc="How the infusion is made up", fields=(
    Field("concentration", _q(("concentration",), "Final concentration")),
    Field("volume", _q(("volume",), "Bag or syringe volume")),
    Field("diluent", TEXT),
    Field("source", SOURCE, True),
))

RETREATMENT = Node("object", doc="When a new course may be considered", fields=(
    Field("minimum_interval", Node("quantity", kinds=("duration",), nullable=True,
                                   doc="null: no guideline sets a minimum"), True),
    Field("relief_lasted", TEXT, True),
    Field("liver_warning", TEXT),
    Field("source", SOURCE, True),
))

REGIMEN = Node("object", doc="A ketadose regimen, format v1", fields=(
    Field("format", Node("integer", minimum=1, maximum=FORMAT_VERSION,
                         doc="Format version of this file"), True),
    Field("id", Node("text", pattern=ID_PATTERN, hint="kebab-case (a-z, 0-9, -)",
                     doc="Stable id, unique across every template folder"), True),
    Field("title", Node("text", doc="If it names esketamine or S-ketamine, `drug` must be "
                                    "`esketamine` (KD-V018)"), True),
    Field("conditions", Node("list", item=Node("text", pattern=ID_PATTERN,
                                               hint="kebab-case (a-z, 0-9, -)"),
                             min_items=1, max_items=20,
                             doc="Condition ids the regimen is for, e.g. `[crps]`, "
                                 "`[sci-pain]`"), True),
    Field("drug", Node("enum", enum=DRUGS, doc="Never mixed up: esketamine is about twice as "
                                               "potent as the racemate",
                       aliases={"ketamine": "racemic-ketamine", "ketamin": "racemic-ketamine",
                                "racemic": "racemic-ketamine", "ketalar": "racemic-ketamine"},
                       # a suggestion never changes the potency silently (docs/evidence.md E)
                       notes={"esketamine": "esketamine is the S(+) form, about twice as potent "
                                            "as racemic ketamine, a factor UNVERIFIED as a "
                                            "conversion: docs/evidence.md E and G8"}), True),
    Field("route", Node("enum", enum=ROUTES), True),
    Field("setting", Node("enum", enum=SETTINGS,
                          doc="ICU and inpatient settings move some limits"), True),
    Field("weight_basis", Node("enum", enum=WEIGHT_BASES,
                               doc="Required when any dose is per kg (KD-V010); ideal weight is "
                                   "Devine's, adjusted is ideal + 0.4 x excess"),
          when="any dose is per kg"),
    Field("schedule", SCHEDULE, True),
    Field("preparation", PREPARATION),
    Field("adjuncts", Node("list", item=ADJUNCT, max_items=30,
                           doc="Medicines given with the regimen, each with its source")),
    Field("monitoring", Node("list", item=MONITORING, max_items=50,
                             doc="What is watched and when, each with its source"), True),
    Field("stop_rules", Node("list", item=STOP_RULE, max_items=50,
                             doc="When to stop or reduce, each with its source"), True),
    Field("retreatment", RETREATMENT, True),
    Field("evidence", Node("list", item=EVIDENCE, min_items=1, max_items=50,
                           doc="The studies behind the regimen"), True),
    Field("confirm", Node("map", item=TEXT, max_items=50,
                          doc="Soft limits confirmed: rule id -> reason, e.g. "
                              "`{KD-LIM-xxx: \"reason\"}`; hard limits cannot be confirmed "
                              "(KD-V017)")),
    Field("notes", TEXT),
))

# ---------------------------------------------------------------- the reference's own prose
# docs/regimen-format.md: the prose around the tables made from the nodes above.
SECTIONS = ("schedule", "preparation", "adjuncts", "monitoring", "stop_rules", "retreatment",
            "evidence")

GUIDE = {
    "intro": "A regimen is one YAML (or JSON) file holding a single mapping. Unknown keys are "
             "errors (with a \"did you mean\"), duplicate keys are errors, and every dose carries "
             "a unit. `ketadose schema regimen` prints the same format as JSON Schema; `ketadose "
             "validate FILE` checks a file against it and against the dose-limit library; "
             "`ketadose new ID` starts from a shipped template. A key marked `?` in a "
             "list of keys is optional.",
    "limits": "KD-LIM-... rules come from the dose-limit library (`ketadose limits`). Limits are "
              "checked on the numbers a regimen fixes without a patient: rates per kg, absolute "
              "rates and caps, the highest titration or escalation step, bolus per kg, fixed "
              "session amounts, oral daily dose per kg, topical strength, concentration, "
              "continuous-infusion length and course length.",
}

# A complete, valid regimen (tests/test_format_doc.py validates it).
EXAMPLE = """\
format: 1
id: sci-amr-2010-local
title: SCI pain - 80 mg IV over 5 h daily for 7 days
conditions: [sci-pain]
drug: racemic-ketamine
route: iv
setting: inpatient
schedule:
  pattern: daily
  days: 7
  source: Amr 2010, PMID 20495588
  phases:
    - {name: infusion, kind: infusion, dose: 80 mg over 5 h, source: "Amr 2010, PMID 20495588"}
monitoring:
  - {what: continuous vital signs, when: every infusion, source: US Ketalar label 2.1}
stop_rules:
  - {when: distressing psychotomimetic effects, action: stop, source: US Ketalar label 5.2}
retreatment:
  minimum_interval: null
  relief_lasted: 2 weeks after the infusions
  source: Amr 2010, PMID 20495588
evidence:
  - {citation: "Amr YM. Pain Physician 2010;13(3):245-249", pmid: 20495588, design: rct, n: 40,
     result: positive, role: primary}
"""
